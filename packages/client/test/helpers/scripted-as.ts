// A small, real HTTP authorization server whose token endpoint follows a script, for the failure
// modes a production AS shows (503, 429 + Retry-After, dropped connections, hangs, bad bodies).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export type Step =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | 'drop'
  | 'hang'
  | 'token';

export interface TokenRequestRecord {
  at: number;
  headers: IncomingMessage['headers'];
  params: URLSearchParams;
}

export interface ScriptedAs {
  issuer: string;
  /** Steps consumed in order by token requests; when empty, `token` (a fresh token). */
  script: Step[];
  requests: TokenRequestRecord[];
  /** Issued tokens and their server-side expiry (ms epoch). */
  issued: Map<string, number>;
  expiresIn: number;
  close(): Promise<void>;
}

export async function startScriptedAs(opts: { expiresIn?: number; script?: Step[] } = {}): Promise<ScriptedAs> {
  const state: Omit<ScriptedAs, 'issuer' | 'close'> = {
    script: opts.script ?? [],
    requests: [],
    issued: new Map(),
    expiresIn: opts.expiresIn ?? 3600,
  };
  let issuer = '';
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/.well-known/oauth-authorization-server' && req.method === 'GET') {
        return json(res, 200, { issuer, token_endpoint: `${issuer}/token`, token_endpoint_auth_methods_supported: ['client_secret_basic'] });
      }
      if (req.url !== '/token' || req.method !== 'POST') return json(res, 404, { error: 'not_found' });
      state.requests.push({ at: Date.now(), headers: req.headers, params: new URLSearchParams(Buffer.concat(chunks).toString()) });
      const step = state.script.shift() ?? 'token';
      if (step === 'drop') return req.socket.destroy();
      if (step === 'hang') {
        hanging.add(res);
        return;
      }
      if (step === 'token') {
        const accessToken = randomBytes(16).toString('base64url');
        state.issued.set(accessToken, Date.now() + state.expiresIn * 1000);
        return json(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: state.expiresIn });
      }
      res.writeHead(step.status, { 'content-type': 'application/json', ...step.headers });
      res.end(typeof step.body === 'string' ? step.body : JSON.stringify(step.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign<Omit<ScriptedAs, 'issuer' | 'close'>, Pick<ScriptedAs, 'issuer' | 'close'>>(state, {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
