/** Helpers for the lifecycle tests: an independent OAuth client (oauth4webapi) and the CLI as a process. */
import { CLI, runCli } from '../helpers/cli.js';
import * as oauth from 'oauth4webapi';

export const CLI_PATH = CLI;

/** Runs the built `latchkey` CLI in its own process (npm test builds first), logging silenced. */
export function latchkey(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCli(args, { LATCHKEY_LOG_LEVEL: 'silent', ...env });
}

/** Runs the CLI with --json and parses its output; fails the test with stderr on a non-zero exit. */
export async function latchkeyJson<T = any>(args: string[], env: Record<string, string> = {}): Promise<T> {
  const sep = args.indexOf('--');
  const r = await latchkey(sep === -1 ? [...args, '--json'] : [...args.slice(0, sep), '--json', ...args.slice(sep)], env);
  if (r.code !== 0) throw new Error(`latchkey ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** An RFC 8414-discovering client built on oauth4webapi: it knows nothing of Latchkey's internals. */
export class IndependentClient {
  private constructor(
    readonly as: oauth.AuthorizationServer,
    readonly client: oauth.Client,
    private readonly auth: oauth.ClientAuth,
  ) {}

  static async discover(issuer: string, clientId: string, secret: string, method: 'basic' | 'post' = 'basic'): Promise<IndependentClient> {
    const url = new URL(issuer);
    const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { algorithm: 'oauth2', ...insecure }));
    return new IndependentClient(as, { client_id: clientId }, method === 'basic' ? oauth.ClientSecretBasic(secret) : oauth.ClientSecretPost(secret));
  }

  async token(params: Record<string, string> = {}): Promise<oauth.TokenEndpointResponse> {
    const res = await oauth.clientCredentialsGrantRequest(this.as, this.client, this.auth, new URLSearchParams(params), insecure);
    return oauth.processClientCredentialsResponse(this.as, this.client, res);
  }

  async introspect(token: string, hint?: string): Promise<oauth.IntrospectionResponse> {
    const opts = hint ? { additionalParameters: { token_type_hint: hint }, ...insecure } : insecure;
    const res = await oauth.introspectionRequest(this.as, this.client, this.auth, token, opts);
    return oauth.processIntrospectionResponse(this.as, this.client, res);
  }

  async revoke(token: string, hint?: string): Promise<void> {
    const opts = hint ? { additionalParameters: { token_type_hint: hint }, ...insecure } : insecure;
    const res = await oauth.revocationRequest(this.as, this.client, this.auth, token, opts);
    await oauth.processRevocationResponse(res);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until it holds or `ms` pass; returns whether it held. */
export async function eventually(cond: () => Promise<boolean> | boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}
