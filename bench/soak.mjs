#!/usr/bin/env node
// Soak test (issue 9): a fixed-rate mix against one Latchkey node for a long time.
//   node bench/soak.mjs                          # 1,000 req/s for 10 min (the full soak)
//   node bench/soak.mjs --rate 200 --duration 60 # the CI version
// Mix: 70% client_secret_basic, 10% private_key_jwt, 10% DPoP, 5% opaque + introspection, 5% wrong secrets.
// Pass criteria: zero 5xx, zero unexpected statuses, p99 <= 50 ms, event-loop lag p99 <= 20 ms,
// RSS growth <= 10% after warm-up. Exit code 1 when any is violated. JSON summary on stdout (last line).
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { startLatchkey, waitClientUsable } from './lib/latchkey.mjs';
import { freePort, rssBreakdownOf } from './lib/proc.mjs';
import { makeClientKey, signAssertion } from './lib/assertions.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RATE = arg('rate', 1000);
const DURATION = arg('duration', 600);
const WARMUP = arg('warmup', Math.min(30, Math.max(5, DURATION / 10)));
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const basic = (id, s) => 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64');

const port = await freePort();
const lk = await startLatchkey({ root, port, pin: false, env: { LATCHKEY_RATE_LIMIT_FAILURES: '1000000', LATCHKEY_WORKERS: '1' } });
const tokenUrl = `${lk.url}/oauth2/token`;
try {
  const basicC = lk.createClient({ name: 'soak-basic', scope: 'read write' });
  const key = makeClientKey();
  const pkjwt = lk.createClient({ name: 'soak-pkjwt', authMethod: 'private_key_jwt', jwks: key.jwks });
  const opaque = lk.createClient({ name: 'soak-opaque', tokenFormat: 'opaque' });
  // An introspecting resource server: a client with latchkey:introspect.
  const rs = lk.createClient({ name: 'soak-rs', scope: 'latchkey:introspect' });
  const form = (o) => new URLSearchParams(o).toString();
  await waitClientUsable(tokenUrl, () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(rs.client_id, rs.client_secret) }, body: 'grant_type=client_credentials' }));

  const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const dpopJwk = dpopKey.publicKey.export({ format: 'jwk' });
  const dpopProof = () => {
    const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty: dpopJwk.kty, crv: dpopJwk.crv, x: dpopJwk.x, y: dpopJwk.y } })}.${b64({ jti: randomUUID(), htm: 'POST', htu: tokenUrl, iat: Math.floor(Date.now() / 1000) })}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: dpopKey.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  const H = { 'content-type': 'application/x-www-form-urlencoded' };
  const kinds = [
    [0.7, 'basic', () => fetch(tokenUrl, { method: 'POST', headers: { ...H, authorization: basic(basicC.client_id, basicC.client_secret) }, body: 'grant_type=client_credentials' }), [200]],
    [0.1, 'private_key_jwt', () => fetch(tokenUrl, { method: 'POST', headers: H, body: form({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: signAssertion(key, pkjwt.client_id, lk.issuer, 60) }) }), [200]],
    [0.1, 'dpop', () => fetch(tokenUrl, { method: 'POST', headers: { ...H, authorization: basic(basicC.client_id, basicC.client_secret), dpop: dpopProof() }, body: 'grant_type=client_credentials' }), [200]],
    [0.05, 'opaque+introspect', async () => {
      const r = await fetch(tokenUrl, { method: 'POST', headers: { ...H, authorization: basic(opaque.client_id, opaque.client_secret) }, body: 'grant_type=client_credentials' });
      if (r.status !== 200) return r;
      const { access_token } = await r.json();
      const i = await fetch(`${lk.url}/oauth2/introspect`, { method: 'POST', headers: { ...H, authorization: basic(rs.client_id, rs.client_secret) }, body: form({ token: access_token }) });
      const body = await i.clone().json();
      if (body.active !== true) return { status: 599, text: async () => 'inactive' };
      return i;
    }, [200]],
    [0.05, 'wrong-secret', () => fetch(tokenUrl, { method: 'POST', headers: { ...H, authorization: basic(basicC.client_id, 'lk_wrong') }, body: 'grant_type=client_credentials' }), [401]],
  ];
  const pick = () => {
    let x = Math.random();
    for (const k of kinds) if ((x -= k[0]) < 0) return k;
    return kinds[0];
  };

  const stats = { sent: 0, byStatus: {}, unexpected: 0, fiveXX: 0, lat: [], unexpectedSamples: [] };
  const rss = [];
  const lag = [];
  const heap = [];
  // Where the memory is (plateau vs leak): one row per sample after warm-up — seconds, RSS split, V8 heap committed/used, external.
  const mem = [];
  const lagAt = [];
  const t0 = Date.now();
  const end = t0 + (WARMUP + DURATION) * 1000;
  let inflight = 0;
  const sampler = setInterval(async () => {
    const measuring = Date.now() - t0 > WARMUP * 1000;
    const r = rssBreakdownOf(lk.proc.pid);
    if (measuring && r) rss.push(r.rss);
    try {
      const m = await (await fetch(`${lk.url}/metrics`)).text();
      const metric = (name) => {
        const l = m.split('\n').find((x) => x.startsWith(`latchkey_process_nodejs_${name} `));
        return l ? Number(l.split(' ')[1]) : NaN;
      };
      if (!measuring) return;
      lag.push(metric('eventloop_lag_p99_seconds') * 1000);
      lagAt.push([Math.round((Date.now() - t0) / 1000), +(metric('eventloop_lag_p99_seconds') * 1000).toFixed(1), +(metric('eventloop_lag_max_seconds') * 1000).toFixed(1)]);
      heap.push(metric('heap_size_used_bytes'));
      if (r) mem.push({ t: Math.round((Date.now() - t0) / 1000), ...r, heapTotal: metric('heap_size_total_bytes'), heapUsed: metric('heap_size_used_bytes'), external: metric('external_memory_bytes') });
    } catch { /* counted by the main loop if the server is gone */ }
  }, 2000);
  // Open-loop schedule: requests are due at fixed times whatever the latency (no coordinated omission).
  // When the generator falls behind (a busy machine), it sends what is due in bursts but always yields to
  // the event loop between bursts — a loop that never yields would only queue requests, never send them.
  // How far behind it fell is reported; over 1 s the run is invalid (the rate was not offered).
  const interval = 1000 / RATE;
  let due = t0;
  let behindMax = 0;
  const send = () => {
    const [, name, fn, expected] = pick();
    const measuring = Date.now() - t0 > WARMUP * 1000;
    inflight++;
    const s = performance.now();
    Promise.resolve()
      .then(fn)
      .then(async (res) => {
        const ms = performance.now() - s;
        const body = await res.text();
        if (!measuring) return;
        stats.sent++;
        stats.lat.push(ms);
        stats.byStatus[res.status] = (stats.byStatus[res.status] ?? 0) + 1;
        if (res.status >= 500) stats.fiveXX++;
        if (!expected.includes(res.status)) {
          stats.unexpected++;
          if (stats.unexpectedSamples.length < 5) stats.unexpectedSamples.push(`${name}: ${res.status} ${body.slice(0, 200)}`);
        }
      })
      .catch((e) => {
        if (!measuring) return;
        stats.sent++;
        stats.unexpected++;
        if (stats.unexpectedSamples.length < 5) stats.unexpectedSamples.push(`${name}: ${e.message}`);
      })
      .finally(() => inflight--);
  };
  while (Date.now() < end) {
    const now = Date.now();
    if (due > now) {
      await sleep(due - now);
      continue;
    }
    if (Date.now() - t0 > WARMUP * 1000) behindMax = Math.max(behindMax, now - due);
    for (let n = 0; due <= now && n < 100; n++, due += interval) send();
    await new Promise((r) => setImmediate(r));
  }
  clearInterval(sampler);
  while (inflight > 0) await sleep(10);
  const q = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
  };
  const rssGrowth = rss.length > 1 ? (rss[rss.length - 1] - rss[0]) / rss[0] : 0;
  const summary = {
    rate: RATE,
    duration_s: DURATION,
    generator_behind_max_ms: behindMax,
    requests: stats.sent,
    achieved_rps: Math.round(stats.sent / DURATION),
    by_status: stats.byStatus,
    five_xx: stats.fiveXX,
    unexpected: stats.unexpected,
    unexpected_samples: stats.unexpectedSamples,
    p50_ms: +q(stats.lat, 0.5).toFixed(2),
    p99_ms: +q(stats.lat, 0.99).toFixed(2),
    max_ms: +q(stats.lat, 1).toFixed(2),
    eventloop_lag_p99_ms: +(lag.length ? Math.max(...lag) : NaN).toFixed(2),
    rss_first_mb: rss.length ? +(rss[0] / 2 ** 20).toFixed(1) : null,
    rss_last_mb: rss.length ? +(rss[rss.length - 1] / 2 ** 20).toFixed(1) : null,
    rss_growth_pct: +(rssGrowth * 100).toFixed(1),
    heap_used_first_mb: heap.length ? +(heap[0] / 2 ** 20).toFixed(1) : null,
    heap_used_last_mb: heap.length ? +(heap[heap.length - 1] / 2 ** 20).toFixed(1) : null,
    // RSS growth over the second half of the run only: near 0 for a plateau, about half the total for a steady leak.
    rss_growth_second_half_pct: rss.length > 3 ? +(((rss[rss.length - 1] - rss[Math.floor(rss.length / 2)]) / rss[Math.floor(rss.length / 2)]) * 100).toFixed(1) : null,
    // The 2-s windows whose event-loop lag p99 passed 10 ms: [seconds, p99 ms, max ms].
    lag_spikes: lagAt.filter((x) => x[1] > 10),
    // MB, about every 30 s: [seconds, rss, anon, file, V8 heap committed, V8 heap used, external].
    memory_timeline: mem
      .filter((_, i) => i % 15 === 0 || i === mem.length - 1)
      .map((x) => [x.t, ...[x.rss, x.anon, x.file, x.heapTotal, x.heapUsed, x.external].map((b) => +(b / 2 ** 20).toFixed(1))]),
  };
  const failures = [];
  if (behindMax > 1000) failures.push(`invalid run: the load generator fell ${behindMax} ms behind the schedule (busy machine?)`);
  if (summary.five_xx > 0) failures.push('5xx responses');
  if (summary.unexpected > 0) failures.push('unexpected statuses');
  if (!(summary.p99_ms <= 50)) failures.push(`p99 ${summary.p99_ms} ms > 50 ms`);
  if (!(summary.eventloop_lag_p99_ms <= 20)) failures.push(`event-loop lag p99 ${summary.eventloop_lag_p99_ms} ms > 20 ms`);
  if (summary.rss_growth_pct > 10) failures.push(`RSS grew ${summary.rss_growth_pct}%`);
  summary.pass = failures.length === 0;
  summary.failures = failures;
  console.log(JSON.stringify(summary));
  process.exitCode = failures.length ? 1 : 0;
} finally {
  await lk.stop();
}
