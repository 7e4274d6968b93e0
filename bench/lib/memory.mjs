// --memory (issue 7, item 4). Two checks against Latchkey:
//  1. JWT: issue N tokens in ten chunks and record the server's RSS after each;
//     JWTs are stateless, so RSS should plateau (report bytes/token of growth).
//  2. Opaque: issue tokens with a short lifetime, measure what each stored token
//     costs (SQLite dbstat for the token table and its indexes, plus RSS), then
//     wait past expiry and check that the rows are cleaned.
import { readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { runLoad } from './load.mjs';
import { setupScenario, SCENARIOS, Unsupported } from './scenarios.mjs';
import { freePort, rssOf } from './proc.mjs';
import { startLatchkey, latchkeyBuilt, waitClientUsable } from './latchkey.mjs';
import { basicAuth, looksLikeJwt } from './verify.mjs';
import { markdownTable } from './report.mjs';

const MiB = 1024 * 1024;
const fmtMiB = (b) => (Number.isFinite(b) ? `${(b / MiB).toFixed(1)} MiB` : '—');

export async function runMemory({ env, opts, resultsDir, stamp, machine, tokens }) {
  if (!latchkeyBuilt(env.root)) {
    console.log('memory mode needs the Latchkey build (npm run build)');
    return;
  }
  const report = { machine, options: { ...opts, tokens } };
  report.jwt = await jwtGrowth({ env, opts, tokens });
  report.opaque = await opaqueStorage({ env, opts, quick: opts.quick });
  const file = join(resultsDir, `memory-${stamp}.json`);
  writeFileSync(file, JSON.stringify(report, null, 2));
  console.log(`\nresults: ${file}`);
}

async function jwtGrowth({ env, opts, tokens }) {
  const sc = SCENARIOS.find((s) => s.name === 'latchkey');
  const target = await setupScenario(sc, { ...env, port: await freePort() });
  const points = [];
  try {
    const issue = (amount) => runLoad({ url: target.url, request: target.request, connections: opts.connections, amount, check: (b) => (typeof b.access_token === 'string' ? 1 : undefined), sampleSize: 0 });
    points.push({ issued: 0, rss: rssOf(target.pid) });
    const warm = await issue(Math.min(20_000, tokens / 10));
    let issued = warm.ok;
    points.push({ issued, rss: rssOf(target.pid) });
    const chunk = Math.ceil(tokens / 10);
    let failures = warm.non2xx + warm.errors + warm.badBodies;
    const started = Date.now();
    process.stdout.write(`JWT: issuing ${tokens.toLocaleString('en-US')} tokens `);
    for (let i = 0; i < 10; i++) {
      const r = await issue(chunk);
      issued += r.ok;
      failures += r.non2xx + r.errors + r.badBodies;
      points.push({ issued, rss: rssOf(target.pid) });
      process.stdout.write('.');
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(` ${seconds.toFixed(0)} s`);
    const afterWarm = points[1].rss;
    const end = points.at(-1).rss;
    const steady = points.slice(1);
    const slope = leastSquaresSlope(steady.map((p) => p.issued), steady.map((p) => p.rss));
    const lo = Math.min(...steady.map((p) => p.rss));
    const hi = Math.max(...steady.map((p) => p.rss));
    console.log(markdownTable(['tokens issued', 'server RSS'], points.map((p) => [p.issued.toLocaleString('en-US'), fmtMiB(p.rss)])));
    console.log(`RSS after warm-up: ${fmtMiB(lo)}–${fmtMiB(hi)}; least-squares growth ${slope.toFixed(2)} bytes/token ` +
      `(${fmtMiB(slope * 1e6)} per million; start ${fmtMiB(points[0].rss)}, after warm-up ${fmtMiB(afterWarm)}, end ${fmtMiB(end)}); failures: ${failures}`);
    return { points, issued, failures, seconds, growthBytesPerToken: slope, rssRangeAfterWarmup: [lo, hi] };
  } finally {
    await target.stop();
  }
}

function leastSquaresSlope(xs, ys) {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : NaN;
}

function dirBytes(dir) {
  let total = 0;
  for (const f of readdirSync(dir)) {
    try {
      const s = statSync(join(dir, f));
      if (s.isFile()) total += s.size;
    } catch { /* raced */ }
  }
  return total;
}

function tokenTableStats(dbFile) {
  if (!existsSync(dbFile)) return undefined;
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT COUNT(*) AS n FROM opaque_tokens').get().n;
    let bytes;
    try {
      bytes = db.prepare(`SELECT SUM(pgsize) AS b FROM dbstat WHERE name = 'opaque_tokens'
        OR name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'opaque_tokens')`).get().b;
    } catch { /* dbstat not compiled in */ }
    let payload;
    try {
      payload = db.prepare('SELECT AVG(LENGTH(CAST(t AS BLOB))) AS b FROM (SELECT * FROM opaque_tokens LIMIT 1000) AS t').get().b;
    } catch { /* best effort */ }
    return { rows, bytes, payload };
  } finally {
    db.close();
  }
}

async function opaqueStorage({ env, opts, quick }) {
  const ttl = quick ? 15 : 60;
  const seconds = quick ? 4 : 20;
  let lk;
  try {
    lk = await startLatchkey({ root: env.root, port: await freePort(), pin: env.pin, cpus: env.serverCpus });
  } catch (err) {
    console.log(`opaque: could not start Latchkey: ${err.message.split('\n')[0]}`);
    return { error: err.message };
  }
  try {
    let client;
    try {
      client = lk.createClient({ name: 'bench-opaque-mem', tokenFormat: 'opaque', ttl });
    } catch (err) {
      throw new Unsupported(err.message);
    }
    const auth = basicAuth(client.client_id, client.client_secret);
    const tokenPath = lk.metadata.token_endpoint ? new URL(lk.metadata.token_endpoint).pathname : '/oauth2/token';
    const first = await waitClientUsable(`${lk.url}${tokenPath}`, () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }, body: 'grant_type=client_credentials' }));
    if (looksLikeJwt(first.access_token)) throw new Unsupported('got a JWT for --token-format opaque');
    const dbFile = join(lk.dataDir, 'latchkey.db');
    const before = { disk: dirBytes(lk.dataDir), rss: rssOf(lk.proc.pid), table: tokenTableStats(dbFile) };
    process.stdout.write(`opaque: issuing for ${seconds} s with token TTL ${ttl} s ... `);
    const r = await runLoad({
      url: lk.url, connections: opts.connections, duration: seconds, sampleSize: 0,
      request: { method: 'POST', path: tokenPath, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }, body: 'grant_type=client_credentials' },
      check: (b) => (typeof b.access_token === 'string' ? 1 : undefined),
    });
    const after = { disk: dirBytes(lk.dataDir), rss: rssOf(lk.proc.pid), table: tokenTableStats(dbFile) };
    const stored = (after.table?.rows ?? 0) - (before.table?.rows ?? 0);
    console.log(`${r.ok.toLocaleString('en-US')} tokens (${Math.round(r.rps)}/s), ${stored.toLocaleString('en-US')} new rows`);
    const perToken = {
      tableAndIndexBytes: after.table?.bytes && stored ? (after.table.bytes - (before.table.bytes ?? 0)) / stored : undefined,
      dataDirBytes: stored ? (after.disk - before.disk) / stored : undefined,
      rssBytes: stored ? (after.rss - before.rss) / stored : undefined,
    };
    console.log(`bytes per stored opaque token: ${perToken.tableAndIndexBytes?.toFixed(0) ?? '—'} in the SQLite table + indexes (dbstat), ` +
      `${perToken.dataDirBytes?.toFixed(0) ?? '—'} on disk incl. WAL, ${perToken.rssBytes?.toFixed(0) ?? '—'} of server RSS`);
    // Cleanup after expiry: wait for TTL, then up to 3 minutes for the sweeper.
    const expiredAt = Date.now() + ttl * 1000;
    process.stdout.write(`opaque: waiting for expiry + cleanup `);
    await sleep(Math.max(0, expiredAt - Date.now()) + 1000);
    const deadline = Date.now() + (quick ? 60_000 : 180_000);
    let rows = tokenTableStats(dbFile)?.rows;
    while (rows > (before.table?.rows ?? 0) && Date.now() < deadline) {
      await sleep(2000);
      rows = tokenTableStats(dbFile)?.rows;
      process.stdout.write('.');
    }
    const cleanedAfter = (Date.now() - expiredAt) / 1000;
    const cleaned = rows <= (before.table?.rows ?? 0);
    console.log(cleaned ? ` cleaned ${cleanedAfter.toFixed(0)} s after expiry` : ` NOT cleaned: ${rows} rows left ${cleanedAfter.toFixed(0)} s after expiry`);
    return { ttl, issued: r.ok, rps: r.rps, stored, before, after, perToken, cleaned, rowsLeft: rows, cleanedSecondsAfterExpiry: cleanedAfter, failures: r.non2xx + r.errors + r.badBodies };
  } catch (err) {
    if (err instanceof Unsupported) {
      console.log(`opaque: not supported yet: ${err.message}`);
      return { unsupported: err.message };
    }
    throw err;
  } finally {
    await lk.stop();
  }
}


