// The scenarios. Each one starts its own server (one at a time, same port
// setup, pinned to the server core) and describes the request autocannon
// sends, the per-response check and the deep verification of the sample.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startChild, waitReady, pinned } from './proc.mjs';
import { makeClientKey, AssertionPool } from './assertions.mjs';
import { verifyJwtSamples, verifyOpaqueSamples, basicAuth, looksLikeJwt } from './verify.mjs';
import { startLatchkey, latchkeyBuilt, supportsWorkers, waitClientUsable } from './latchkey.mjs';

const FORM = 'application/x-www-form-urlencoded';
const TOKEN_BODY = 'grant_type=client_credentials&scope=read%20write';
const ASSERTION_PREFIX = `${TOKEN_BODY}&client_assertion_type=${encodeURIComponent('urn:ietf:params:oauth:client-assertion-type:jwt-bearer')}&client_assertion=`;
export const AUDIENCE = 'https://api.example.com';

const tokenCheck = (body) => (typeof body.access_token === 'string' && body.access_token.length > 0 && typeof body.token_type === 'string' ? body.access_token : undefined);
const introspectCheck = (body) => (body.active === true ? (body.client_id ?? 'active') : undefined);

/** Scenario catalogue, in the order a round runs them. */
export const SCENARIOS = [
  { name: 'ceiling', system: 'node:http', what: 'raw node:http, form POST → static JSON (the ceiling)', kind: 'token', auth: 'basic', format: 'jwt' },
  { name: 'ceiling-es256', system: 'node:http', what: 'raw node:http, form POST → a fresh ES256 JWT per request (HTTP + signature: the floor of any Node token endpoint that signs)', kind: 'token', auth: 'basic', format: 'jwt', sign: true },
  { name: 'ceiling-fastify', system: 'fastify', what: 'the ceiling behind Fastify 5 (framework cost reference)', kind: 'token', auth: 'basic', format: 'jwt' },
  { name: 'latchkey', system: 'latchkey', what: 'Latchkey JWT + client_secret_basic', kind: 'token', auth: 'basic', format: 'jwt', peer: 'oidc-provider' },
  { name: 'latchkey-2workers', system: 'latchkey', what: 'Latchkey --workers 2 (both cores, shared with the load generator)', kind: 'token', auth: 'basic', format: 'jwt', workers: 2, peer: 'oidc-provider' },
  { name: 'latchkey-private_key_jwt', system: 'latchkey', what: 'Latchkey JWT + private_key_jwt (ES256 assertion)', kind: 'token', auth: 'private_key_jwt', format: 'jwt', peer: 'oidc-provider-private_key_jwt' },
  { name: 'latchkey-opaque', system: 'latchkey', what: 'Latchkey opaque + client_secret_basic', kind: 'token', auth: 'basic', format: 'opaque', peer: 'oidc-provider-opaque' },
  { name: 'latchkey-introspect', system: 'latchkey', what: 'Latchkey introspection (RFC 7662)', kind: 'introspect', auth: 'basic', format: 'opaque', peer: 'oidc-provider-introspect' },
  { name: 'oidc-provider', system: 'oidc-provider', what: 'oidc-provider 9 JWT + client_secret_basic', kind: 'token', auth: 'basic', format: 'jwt' },
  { name: 'oidc-provider-private_key_jwt', system: 'oidc-provider', what: 'oidc-provider 9 JWT + private_key_jwt', kind: 'token', auth: 'private_key_jwt', format: 'jwt' },
  { name: 'oidc-provider-opaque', system: 'oidc-provider', what: 'oidc-provider 9 opaque + client_secret_basic', kind: 'token', auth: 'basic', format: 'opaque' },
  { name: 'oidc-provider-introspect', system: 'oidc-provider', what: 'oidc-provider 9 introspection', kind: 'introspect', auth: 'basic', format: 'opaque' },
  { name: 'node-oauth2-server', system: '@node-oauth/oauth2-server', what: '@node-oauth/oauth2-server 5 + jose ES256 JWT, basic', kind: 'token', auth: 'basic', format: 'jwt' },
];

export class Unsupported extends Error {}

/**
 * Starts the scenario's server and returns the target description.
 * @param {object} sc   scenario from SCENARIOS
 * @param {object} env  {root, pin, port, connections, nodeArgs, serverEnv}
 */
export async function setupScenario(sc, env) {
  if (sc.system === 'latchkey') return setupLatchkey(sc, env);
  return setupPeer(sc, env);
}

function basicTokenRequest(path, id, secret) {
  return { method: 'POST', path, headers: { 'content-type': FORM, authorization: basicAuth(id, secret) }, body: TOKEN_BODY };
}

function assertionTokenRequest(path, pool) {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': FORM },
    body: TOKEN_BODY, // replaced per request by setupRequest
    setupRequest: (req) => ({ ...req, body: ASSERTION_PREFIX + pool.next() }),
  };
}

/** Pool sizing hook: signs enough assertions for the coming phase before it starts. */
function poolPhaseHook(pool) {
  return (seconds, expectedRps) => pool.fill(Math.ceil(Math.max(expectedRps * 1.6, 4000) * seconds) + 1000);
}

async function setupPeer(sc, env) {
  const file = {
    'node:http': 'ceiling.mjs',
    fastify: 'fastify-ceiling.mjs',
    'oidc-provider': 'oidc-provider.mjs',
    '@node-oauth/oauth2-server': 'node-oauth2-server.mjs',
  }[sc.system];
  const secret = `bench_${randomBytes(32).toString('base64url')}`;
  const key = makeClientKey();
  const clients = [
    { client_id: 'bench-basic', client_secret: secret, token_endpoint_auth_method: 'client_secret_basic', scope: 'read write' },
    { client_id: 'bench-pkjwt', jwks: key.jwks, token_endpoint_auth_method: 'private_key_jwt', scope: 'read write' },
  ];
  const url = `http://127.0.0.1:${env.port}`;
  const proc = startChild(pinned(env.serverCpus, [process.execPath, ...(env.nodeArgs ?? []), join(env.root, 'bench/peers', file)], env.pin), {
    cwd: env.root,
    env: {
      BENCH_PORT: String(env.port),
      BENCH_CLIENTS: JSON.stringify(clients),
      BENCH_AUDIENCE: AUDIENCE,
      BENCH_TOKEN_FORMAT: sc.format,
      ...(sc.sign ? { BENCH_CEILING_SIGN: '1' } : {}),
      NODE_ENV: 'production',
    },
  });
  await waitReady(`${url}/readyz`, proc);
  const stop = async () => { await proc.stop(); };
  const tokenPath = '/oauth2/token';
  const issuer = url;
  const verifyTokens = sc.format === 'opaque'
    ? (samples) => verifyOpaqueSamples(samples, { introspectionUrl: `${url}/oauth2/introspect`, authorization: basicAuth('bench-basic', secret) })
    : (samples) => verifyJwtSamples(samples, {
      jwksUrl: `${url}/.well-known/jwks.json`, issuer, clientId: sc.name.startsWith('ceiling') ? 'bench-client' : undefined, expectUnique: !sc.name.startsWith('ceiling') || sc.sign === true,
    });

  if (sc.kind === 'introspect') {
    const r = await fetch(`${url}${tokenPath}`, { method: 'POST', headers: { 'content-type': FORM, authorization: basicAuth('bench-basic', secret) }, body: TOKEN_BODY });
    const { access_token: token } = await r.json();
    return {
      url, pid: proc.pid, stop, notes: [],
      request: { method: 'POST', path: '/oauth2/introspect', headers: { 'content-type': FORM, authorization: basicAuth('bench-basic', secret) }, body: `token=${encodeURIComponent(token)}` },
      check: introspectCheck,
      verify: async () => [],
    };
  }
  if (sc.auth === 'private_key_jwt') {
    const pool = new AssertionPool(key, 'bench-pkjwt', issuer);
    return {
      url, pid: proc.pid, stop, notes: [], pool,
      beforePhase: poolPhaseHook(pool),
      request: assertionTokenRequest(tokenPath, pool),
      check: tokenCheck,
      verify: verifyTokens,
    };
  }
  return {
    url, pid: proc.pid, stop, notes: [],
    request: basicTokenRequest(tokenPath, 'bench-basic', secret),
    check: tokenCheck,
    verify: verifyTokens,
  };
}

async function setupLatchkey(sc, env) {
  if (!latchkeyBuilt(env.root)) throw new Unsupported('not built (packages/server/dist/cli/main.js missing)');
  if (sc.workers > 1 && !supportsWorkers(env.root)) throw new Unsupported('`start --workers` not supported yet');
  const lk = await startLatchkey({
    root: env.root, port: env.port, pin: env.pin,
    cpus: sc.workers > 1 ? env.allCpus : env.serverCpus,
    workers: sc.workers, nodeArgs: env.nodeArgs, env: env.serverEnv,
  });
  try {
    return await describeLatchkey(sc, env, lk);
  } catch (err) {
    await lk.stop();
    throw err;
  }
}

async function describeLatchkey(sc, env, lk) {
  const md = lk.metadata;
  const pathOf = (u, fallback) => (u ? new URL(u).pathname : fallback);
  const tokenPath = pathOf(md.token_endpoint, '/oauth2/token');
  const tokenUrl = `${lk.url}${tokenPath}`;
  const introspectionUrl = md.introspection_endpoint ? `${lk.url}${pathOf(md.introspection_endpoint)}` : undefined;
  const methods = md.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
  const stop = () => lk.stop();
  const base = { url: lk.url, pid: lk.proc.pid, stop, notes: [], latchkey: lk };
  const jwtVerify = (clientId) => (samples) => verifyJwtSamples(samples, { jwksUrl: md.jwks_uri ? `${lk.url}${pathOf(md.jwks_uri)}` : `${lk.url}/.well-known/jwks.json`, issuer: lk.issuer, clientId });

  if (sc.auth === 'private_key_jwt') {
    if (!methods.includes('private_key_jwt')) throw new Unsupported('private_key_jwt not supported yet (not in token_endpoint_auth_methods_supported)');
    const key = makeClientKey();
    let client;
    try {
      client = lk.createClient({ name: 'bench-pkjwt', authMethod: 'private_key_jwt', jwks: key.jwks });
    } catch (err) {
      throw new Unsupported(`private_key_jwt client: ${err.message}`);
    }
    const pool = new AssertionPool(key, client.client_id, lk.issuer);
    await waitClientUsable(tokenUrl, () => ({ method: 'POST', headers: { 'content-type': FORM }, body: ASSERTION_PREFIX + pool.next() }));
    return { ...base, pool, beforePhase: poolPhaseHook(pool), request: assertionTokenRequest(tokenPath, pool), check: tokenCheck, verify: jwtVerify(client.client_id) };
  }

  if (sc.format === 'opaque' || sc.kind === 'introspect') {
    if (sc.kind === 'introspect' && !introspectionUrl) throw new Unsupported('introspection not supported yet (no introspection_endpoint in metadata)');
    let client;
    try {
      client = lk.createClient({ name: 'bench-opaque', tokenFormat: 'opaque' });
    } catch (err) {
      if (sc.kind !== 'introspect') throw new Unsupported(`opaque client: ${err.message}`);
    }
    let opaque = Boolean(client);
    if (!client) client = lk.createClient({ name: 'bench-basic' });
    const first = await waitClientUsable(tokenUrl, () => ({ method: 'POST', headers: { 'content-type': FORM, authorization: basicAuth(client.client_id, client.client_secret) }, body: TOKEN_BODY }));
    if (looksLikeJwt(first.access_token)) {
      if (sc.kind !== 'introspect') throw new Unsupported('opaque tokens not supported yet (got a JWT for --token-format opaque)');
      opaque = false;
    }
    const clientAuth = basicAuth(client.client_id, client.client_secret);
    if (sc.kind === 'introspect') {
      // A resource server holding latchkey:introspect, the deployment SPEC §3 describes;
      // fall back to the client introspecting its own token.
      let rsAuth = clientAuth;
      try {
        const rs = lk.createClient({ name: 'bench-rs', scope: 'latchkey:introspect' });
        rsAuth = basicAuth(rs.client_id, rs.client_secret);
        await waitClientUsable(introspectionUrl, () => ({ method: 'POST', headers: { 'content-type': FORM, authorization: rsAuth }, body: `token=${encodeURIComponent(first.access_token)}` }));
      } catch (err) {
        base.notes.push(`introspecting as the token's own client (${err.message.slice(0, 80)})`);
        rsAuth = clientAuth;
      }
      if (!opaque) base.notes.push('introspecting a JWT (opaque tokens not supported yet)');
      return {
        ...base,
        request: { method: 'POST', path: pathOf(md.introspection_endpoint), headers: { 'content-type': FORM, authorization: rsAuth }, body: `token=${encodeURIComponent(first.access_token)}` },
        check: introspectCheck,
        verify: async () => [],
      };
    }
    return {
      ...base,
      request: basicTokenRequest(tokenPath, client.client_id, client.client_secret),
      check: tokenCheck,
      verify: introspectionUrl
        ? (samples) => verifyOpaqueSamples(samples, { introspectionUrl, authorization: clientAuth })
        : async () => {
          base.notes.push('opaque tokens not verified: no introspection endpoint yet (status and body shape checked only)');
          return [];
        },
    };
  }

  const client = lk.createClient({ name: 'bench-basic' });
  await waitClientUsable(tokenUrl, () => ({ method: 'POST', headers: { 'content-type': FORM, authorization: basicAuth(client.client_id, client.client_secret) }, body: TOKEN_BODY }));
  return { ...base, request: basicTokenRequest(tokenPath, client.client_id, client.client_secret), check: tokenCheck, verify: jwtVerify(client.client_id) };
}
