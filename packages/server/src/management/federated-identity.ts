import { z } from 'zod';

/** Trusted issuer names (`latchkey trust add NAME`). */
export const TRUSTED_ISSUER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Most claim conditions on one federated client. */
export const MAX_FEDERATED_CLAIMS = 20;

/**
 * Client metadata `federated_identity` (SPEC §9): the trusted issuer (by name), the exact `sub` of the
 * workload's platform tokens, and claims that must be equal (e.g. GitHub `repository`, `ref`,
 * `environment`; Kubernetes `kubernetes.io.namespace`). Values are compared as exact strings.
 */
export const federatedIdentitySchema = z
  .object({
    issuer: z.string().regex(TRUSTED_ISSUER_NAME, 'must be the name of a trusted issuer (latchkey trust list)'),
    subject: z.string().min(1).max(1024),
    claims: z
      .record(z.string().min(1).max(256), z.string().max(1024))
      .refine((c) => Object.keys(c).length <= MAX_FEDERATED_CLAIMS, `at most ${MAX_FEDERATED_CLAIMS} claims`)
      .refine((c) => !Object.keys(c).some((k) => ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'].includes(k)), 'iss, sub, aud, exp, iat, nbf and jti are checked by Latchkey and cannot be conditions')
      .optional(),
  })
  .strict();
