import { readFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject, type webcrypto } from 'node:crypto';
import { Command, Option } from 'commander';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import {
  CLIENT_AUTHENTICATION_METHODS,
  LatchkeyClientError,
  OAuthErrorResponse,
  TokenClient,
  assertionFromFile,
  type ClientAuthentication,
  type ClientAuthenticationMethod,
} from '@latchkey/client';

interface TokenOptions {
  issuer: string;
  tokenEndpoint?: string;
  clientId?: string;
  clientSecret?: string;
  assertionFile?: string;
  assertionType?: 'jwt-bearer' | 'jwt-spiffe';
  keyFile?: string;
  kid?: string;
  alg?: string;
  scope: string[];
  resource: string[];
  authMethod?: ClientAuthenticationMethod;
  dpop?: boolean;
  decode?: boolean;
  json?: boolean;
}

class UsageError extends Error {}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Reads a private key: a PEM (PKCS#8, SEC1 or PKCS#1) file, a private JWK, or a JWKS holding one. */
export function readPrivateKey(path: string): KeyObject | webcrypto.JsonWebKey {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --key-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: { keys?: unknown[]; d?: unknown };
    try {
      parsed = JSON.parse(trimmed) as typeof parsed;
    } catch {
      throw new UsageError(`--key-file ${path} is neither PEM nor JSON`);
    }
    const candidates = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
    const key = candidates.find((k) => k && typeof k === 'object' && typeof (k as { d?: unknown }).d === 'string');
    if (!key) throw new UsageError(`--key-file ${path} holds no private JWK (member "d")`);
    return key;
  }
  try {
    return createPrivateKey(trimmed);
  } catch {
    throw new UsageError(`--key-file ${path} is not a private key in PEM format`);
  }
}

function authFrom(o: TokenOptions): ClientAuthentication {
  if (o.assertionFile !== undefined || o.authMethod === 'federated_jwt') {
    // federated_jwt (SPEC §9): the platform's token is the credential; client_id is optional (RFC 7521 §4.2).
    if (!o.assertionFile) throw new UsageError('federated_jwt needs --assertion-file');
    if (o.clientSecret || o.keyFile) throw new UsageError('give --assertion-file without a client secret or --key-file');
    try {
      readFileSync(o.assertionFile, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read --assertion-file ${o.assertionFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return {
      method: 'federated_jwt',
      ...(o.clientId ? { clientId: o.clientId } : {}),
      assertion: assertionFromFile(o.assertionFile),
      ...(o.assertionType ? { assertionType: o.assertionType } : {}),
    };
  }
  if (!o.clientId) throw new UsageError('--client-id (or LATCHKEY_CLIENT_ID) is required');
  if (o.clientSecret && o.keyFile) throw new UsageError('give either a client secret or --key-file, not both');
  const method = o.authMethod ?? (o.keyFile ? 'private_key_jwt' : o.clientSecret ? 'client_secret_basic' : undefined);
  switch (method) {
    case 'client_secret_basic':
    case 'client_secret_post':
      if (!o.clientSecret) throw new UsageError(`${method} needs --client-secret or LATCHKEY_CLIENT_SECRET`);
      return { method, clientId: o.clientId, clientSecret: o.clientSecret };
    case 'client_secret_jwt':
      if (!o.clientSecret) throw new UsageError(`${method} needs --client-secret or LATCHKEY_CLIENT_SECRET`);
      return { method, clientId: o.clientId, clientSecret: o.clientSecret, ...(o.alg ? { alg: o.alg as 'HS256' } : {}) };
    case 'private_key_jwt': {
      if (!o.keyFile) throw new UsageError('private_key_jwt needs --key-file');
      const auth: ClientAuthentication = { method, clientId: o.clientId, privateKey: readPrivateKey(o.keyFile) };
      if (o.kid) auth.kid = o.kid;
      if (o.alg) auth.alg = o.alg;
      return auth;
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      throw new UsageError(`${method} needs a TLS client certificate, which this command does not configure; use @latchkey/client with a dispatcher`);
    default:
      throw new UsageError('give --client-secret (or LATCHKEY_CLIENT_SECRET) or --key-file');
  }
}

function decoded(accessToken: string): { header: unknown; claims: Record<string, unknown> } | undefined {
  try {
    return { header: decodeProtectedHeader(accessToken), claims: decodeJwt(accessToken) };
  } catch {
    return undefined;
  }
}

function human(response: Readonly<Record<string, unknown>>, decode: boolean): string {
  const lines: string[] = [];
  const width = Math.max(...Object.keys(response).map((k) => k.length));
  for (const [k, v] of Object.entries(response)) lines.push(`${k.padEnd(width)}  ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  if (decode) {
    const d = decoded(String(response.access_token));
    if (!d) {
      lines.push('', 'the access token is not a JWT (opaque reference token): nothing to decode; use introspection');
    } else {
      lines.push('', 'header:', JSON.stringify(d.header, null, 2), '', 'claims:', JSON.stringify(d.claims, null, 2));
      for (const claim of ['iat', 'nbf', 'exp'] as const) {
        const v = d.claims[claim];
        if (typeof v === 'number') lines.push(`${claim.padEnd(3)}  ${new Date(v * 1000).toISOString()}`);
      }
    }
  }
  return lines.join('\n');
}

/**
 * `latchkey token` (SPEC §4): gets an access token with the client credentials grant from any
 * RFC 8414 authorization server, through `@latchkey/client`, and prints the token response.
 * The client secret is never printed; prefer `LATCHKEY_CLIENT_SECRET` to `--client-secret`.
 */
export function tokenCommand(): Command {
  return new Command('token')
    .description('get an access token (client credentials grant) from an authorization server and print the token response')
    .addOption(new Option('--issuer <url>', 'issuer identifier of the authorization server (discovery: RFC 8414 / OpenID)').env('LATCHKEY_ISSUER').makeOptionMandatory())
    .option('--token-endpoint <url>', 'token endpoint URL (skips discovery)')
    .addOption(new Option('--client-id <id>', 'client identifier').env('LATCHKEY_CLIENT_ID'))
    .addOption(
      new Option(
        '--client-secret <secret>',
        'client secret; safer: set LATCHKEY_CLIENT_SECRET instead (command-line arguments are visible to other local users in `ps` and end up in shell history)',
      ).env('LATCHKEY_CLIENT_SECRET'),
    )
    .option('--key-file <file>', 'private key for private_key_jwt: PEM, private JWK or JWKS')
    .option('--assertion-file <file>', 'federated_jwt: a token your platform issued (Kubernetes projected service-account token, JWT-SVID, CI OIDC token), read when the request is made; --client-id is then optional')
    .addOption(new Option('--assertion-type <type>', 'federated_jwt: jwt-spiffe for SPIFFE JWT-SVIDs').choices(['jwt-bearer', 'jwt-spiffe']))
    .option('--kid <kid>', 'key id to put in the client assertion header (default: the JWK "kid")')
    .option('--alg <alg>', 'signing algorithm for client assertions (default: from the key; HS256 for client_secret_jwt)')
    .option('--scope <scope>', 'scope to request; repeat or space-separate for several', collect, [])
    .option('--resource <uri>', 'resource indicator (RFC 8707); repeat for several', collect, [])
    .addOption(
      new Option('--auth-method <method>', 'client authentication method (default: client_secret_basic with a secret, private_key_jwt with --key-file)').choices(
        CLIENT_AUTHENTICATION_METHODS as string[],
      ),
    )
    .option('--dpop', 'bind the token to a fresh DPoP key (RFC 9449); the key is discarded on exit')
    .option('--decode', 'also show the JWT header and claims (decoded, NOT verified)')
    .option('--json', 'machine-readable JSON output (the token response; with --decode, plus "decoded": {header, claims})')
    .addHelpText(
      'after',
      `
Examples:
  LATCHKEY_CLIENT_SECRET=lk_… latchkey token --issuer http://127.0.0.1:8080 --client-id orders --scope orders:read
  latchkey token --issuer https://auth.example.com --client-id svc --key-file svc-key.pem --decode
  latchkey token --issuer https://auth.example.com --assertion-file /var/run/secrets/tokens/latchkey
  curl -H "Authorization: Bearer $(latchkey token --issuer … --client-id … --json | jq -r .access_token)" …

Exit codes: 0 success; 1 the server refused or could not be reached; 2 unusable credentials or options.`,
    )
    .action(async (o: TokenOptions) => {
      let client: TokenClient;
      try {
        const auth = authFrom(o);
        client = new TokenClient({
          issuer: o.issuer,
          ...(o.tokenEndpoint ? { tokenEndpoint: o.tokenEndpoint } : {}),
          auth,
          scope: o.scope.join(' '),
          resource: o.resource,
          dpop: o.dpop === true,
          retry: { maxRetries: 2 },
        });
      } catch (e) {
        return exitWith(2, o.json, 'invalid_request', e instanceof Error ? e.message : String(e));
      }
      try {
        const token = await client.getToken();
        const response = token.response;
        if (token.tokenType === 'DPoP') {
          process.stderr.write('latchkey token: note: this token is DPoP-bound (RFC 9449) to a key that is discarded on exit; it is only useful to inspect\n');
        }
        if (o.json) {
          const out: Record<string, unknown> = { ...response };
          if (o.decode) out.decoded = decoded(token.accessToken) ?? null;
          process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        } else {
          process.stdout.write(human(response, o.decode === true) + '\n');
        }
      } catch (e) {
        if (e instanceof OAuthErrorResponse) return exitWith(1, o.json, e.error, e.errorDescription ?? `the server answered ${e.error}`, e.status);
        if (e instanceof LatchkeyClientError) {
          return exitWith(e.code === 'ERR_INVALID_OPTIONS' || e.code === 'ERR_INVALID_KEY' ? 2 : 1, o.json, e.code, e.message, e.status);
        }
        return exitWith(1, o.json, 'error', e instanceof Error ? e.message : String(e));
      }
    });
}

function exitWith(code: number, json: boolean | undefined, error: string, description: string, status?: number): void {
  if (json) {
    const body: Record<string, unknown> = { error, error_description: description };
    if (status !== undefined) body.status = status;
    process.stdout.write(JSON.stringify(body) + '\n');
  } else {
    process.stderr.write(`latchkey token: ${error}: ${description}\n`);
  }
  process.exitCode = code;
}
