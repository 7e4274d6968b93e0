#!/usr/bin/env node
// Slowloris (issue 9): 500 connections that trickle header bytes must not push a legitimate client's
// p99 past 2× its baseline. Starts one Latchkey node (--workers 1), measures a legitimate client at
// 100 req/s for 10 s, opens 500 slow connections, measures again. Prints JSON; exit 1 when the bound fails.
//   node scripts/faults/slowloris.mjs [--connections 500] [--seconds 10]
import { connect } from 'node:net';
import { spawn } from 'node:child_process';

// Child mode: hold the slow connections in their own process, so their writes do not delay the
// legitimate client's measurements in this one.
if (process.argv[2] === '--slow-child') {
  const [port, n] = [Number(process.argv[3]), Number(process.argv[4])];
  const socks = [];
  let open = 0;
  for (let k = 0; k < n; k++) {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.on('connect', () => { open++; s.write('POST /oauth2/token HTTP/1.1\r\nHost: x\r\n'); });
    s.on('close', () => open--);
    socks.push(s);
  }
  setInterval(() => { for (const s of socks) if (!s.destroyed) s.write('X-a: b\r\n'); }, 2000);
  process.on('message', () => process.send({ open }));
  await new Promise(() => {});
}
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { startLatchkey, waitClientUsable } from '../../bench/lib/latchkey.mjs';
import { freePort } from '../../bench/lib/proc.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (n, d) => (process.argv.includes(`--${n}`) ? Number(process.argv[process.argv.indexOf(`--${n}`) + 1]) : d);
const CONNS = arg('connections', 500);
const SECONDS = arg('seconds', 10);
const port = await freePort();
const lk = await startLatchkey({ root, port, pin: false });
try {
  const c = lk.createClient({ name: 'legit' });
  const auth = 'Basic ' + Buffer.from(`${c.client_id}:${c.client_secret}`).toString('base64');
  const init = () => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth }, body: 'grant_type=client_credentials' });
  await waitClientUsable(`${lk.url}/oauth2/token`, init);
  async function measure() {
    const lat = [];
    const t0 = Date.now();
    let i = 0;
    let bad = 0;
    while (Date.now() - t0 < SECONDS * 1000) {
      const due = t0 + i++ * 10;
      if (Date.now() < due) await sleep(due - Date.now());
      const s = performance.now();
      const r = await fetch(`${lk.url}/oauth2/token`, init());
      await r.text();
      if (r.status !== 200) bad++;
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    return { n: lat.length, bad, p50: +lat[lat.length >> 1].toFixed(2), p99: +lat[Math.floor(lat.length * 0.99)].toFixed(2) };
  }
  const baseline = await measure();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--slow-child', String(port), String(CONNS)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await sleep(1500);
  const during = await measure();
  const stillOpen = await new Promise((r) => { child.once('message', (m) => r(m.open)); child.send('count'); });
  child.kill('SIGKILL');
  const result = { connections: CONNS, slow_connections_open_at_end: stillOpen, baseline, during, ratio_p99: +(during.p99 / baseline.p99).toFixed(2) };
  result.pass = during.bad === 0 && during.p99 <= Math.max(2 * baseline.p99, baseline.p99 + 2);
  console.log(JSON.stringify(result));
  process.exitCode = result.pass ? 0 : 1;
} finally {
  await lk.stop();
}
