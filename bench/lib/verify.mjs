// Deep checks on the sample of responses a run kept: JWT access tokens must
// verify against the server's JWKS; opaque tokens must introspect as active.
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';

export function looksLikeJwt(token) {
  if (typeof token !== 'string' || token.split('.').length !== 3) return false;
  try {
    decodeProtectedHeader(token);
    return true;
  } catch {
    return false;
  }
}

/** Returns a list of problems (empty when every sample verified). */
export async function verifyJwtSamples(samples, { jwksUrl, issuer, clientId, expectUnique = true }) {
  const problems = [];
  const r = await fetch(jwksUrl);
  const jwks = createLocalJWKSet(await r.json());
  const jtis = new Set();
  for (const token of samples) {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, clockTolerance: 5 });
      if (protectedHeader.typ !== 'at+jwt' && protectedHeader.typ !== 'application/at+jwt') {
        problems.push(`typ is ${protectedHeader.typ}`);
      }
      if (clientId && payload.client_id !== clientId && payload.sub !== clientId) {
        problems.push(`token for ${payload.client_id ?? payload.sub}, expected ${clientId}`);
      }
      if (expectUnique) {
        if (jtis.has(payload.jti)) problems.push(`duplicate jti ${payload.jti}`);
        jtis.add(payload.jti);
      }
    } catch (err) {
      problems.push(`${err.code ?? err.name}: ${err.message}`);
    }
    if (problems.length >= 5) break;
  }
  return problems;
}

/** Introspects each sample (RFC 7662) and expects `active: true`. */
export async function verifyOpaqueSamples(samples, { introspectionUrl, authorization, limit = 50 }) {
  const problems = [];
  if (!introspectionUrl) return ['no introspection endpoint to verify opaque tokens with'];
  for (const token of samples.slice(0, limit)) {
    try {
      const r = await fetch(introspectionUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        body: new URLSearchParams({ token }).toString(),
      });
      const body = await r.json();
      if (r.status !== 200 || body.active !== true) problems.push(`introspection said ${r.status} ${JSON.stringify(body).slice(0, 120)}`);
    } catch (err) {
      problems.push(err.message);
    }
    if (problems.length >= 5) break;
  }
  return problems;
}

export const basicAuth = (id, secret) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
