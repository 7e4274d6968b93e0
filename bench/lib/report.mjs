// The side-by-side table and the issue-7 targets, computed from one run.
import { median, min, max, ratio } from './stats.mjs';

export function summarize(name, sc, runs) {
  const measured = runs.filter((r) => r.rps !== undefined);
  const rps = measured.map((r) => r.rps);
  return {
    name,
    what: sc.what,
    system: sc.system,
    kind: sc.kind,
    unsupported: runs.find((r) => r.unsupported)?.unsupported,
    error: runs.find((r) => r.error)?.error,
    repeats: measured.length,
    median: median(rps),
    min: min(rps),
    max: max(rps),
    p99: median(measured.map((r) => r.latency.p99)),
    valid: measured.length > 0 && measured.every((r) => r.valid),
    problems: [...new Set(measured.flatMap((r) => r.problems))].slice(0, 5),
    notes: aggregateNotes(runs),
    rssAfter: median(measured.map((r) => r.rssAfter)),
    serverUsPerRequest: median(measured.map((r) => r.cpu?.serverUsPerRequest)),
    serverCores: median(measured.map((r) => r.cpu?.serverCores)),
    loadgenCores: median(measured.map((r) => r.cpu?.loadgenCores)),
    otherCores: median(measured.map((r) => r.cpu?.otherCores)),
    mainThreadUsPerRequest: median(measured.map((r) => r.cpu?.mainThreadUsPerRequest)),
    otherThreadsUsPerRequest: median(measured.map((r) => r.cpu?.otherThreadsUsPerRequest)),
    runs,
  };
}

/** One line per kind of note: "noisy" and "load-generator bound" notes are counted, not repeated. */
function aggregateNotes(runs) {
  const all = runs.flatMap((r) => r.notes ?? []);
  const noisy = all.filter((n) => n.startsWith('other processes used'));
  const bound = all.filter((n) => n.startsWith('load generator used'));
  const rest = [...new Set(all.filter((n) => !noisy.includes(n) && !bound.includes(n)))];
  const measured = runs.filter((r) => r.rps !== undefined).length;
  if (noisy.length) rest.push(`noisy: other processes took > 25 % of a core in ${noisy.length} of ${measured} runs`);
  if (bound.length) rest.push(`load generator above 90 % of its core in ${bound.length} of ${measured} runs: may be load-generator bound`);
  return rest;
}

const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '—');
const fmtX = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—');
const pct = (x) => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : '—');
const fmtMs = (x) => (Number.isFinite(x) ? `${x}` : '—');

export function buildTable(rows) {
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  const ceiling = by.ceiling?.valid ? by.ceiling.median : NaN;
  const header = ['scenario', 'req/s (median)', 'min–max', '× ceiling', '× peer', 'p99 ms', 'server µs/req (main+threads)', 'CPU srv/lg/other', 'status'];
  const lines = [];
  for (const r of rows) {
    if (r.unsupported || (r.error && !r.repeats)) {
      lines.push([r.name, '—', '—', '—', '—', '—', '—', '—', r.unsupported ? `not supported yet: ${r.unsupported}` : `ERROR: ${r.error}`]);
      continue;
    }
    const peer = r.peerName ? by[r.peerName] : undefined;
    const spread = `${fmtInt(r.min)}–${fmtInt(r.max)}`;
    lines.push([
      r.name,
      fmtInt(r.median),
      r.repeats > 1 ? spread : '(1 run)',
      fmtX(ratio(r.median, ceiling)),
      peer && peer.valid ? `${fmtX(ratio(r.median, peer.median))} ${peer.name}` : '—',
      fmtMs(r.p99),
      Number.isFinite(r.serverUsPerRequest)
        ? `${r.serverUsPerRequest.toFixed(0)}${Number.isFinite(r.mainThreadUsPerRequest) ? ` (${r.mainThreadUsPerRequest.toFixed(0)}+${r.otherThreadsUsPerRequest.toFixed(0)})` : ''}`
        : '—',
      `${pct(r.serverCores)}/${pct(r.loadgenCores)}/${pct(r.otherCores)}`,
      r.valid ? 'ok' : `INVALID: ${r.problems.join('; ').slice(0, 160)}`,
    ]);
  }
  return markdownTable(header, lines);
}

export function markdownTable(header, lines) {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)));
  const row = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

/** Issue 7, item 2: each target as a ratio measured in this run. */
export function evaluateTargets(rows) {
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));
  const v = (n) => (by[n] && by[n].valid ? by[n] : undefined);
  const out = [];
  const add = (target, a, b, threshold, note) => {
    const value = a && b ? ratio(a.median, b.median) : NaN;
    // The same ratio computed from server CPU per request: robust to a load
    // generator or a neighbour stealing cycles during one of the two runs.
    const cpuValue = a && b ? ratio(b.serverUsPerRequest, a.serverUsPerRequest) : NaN;
    out.push({ target, value, cpuValue, threshold, pass: Number.isFinite(value) ? value >= threshold : null, note });
  };
  // Issue #16's targets: one core (`--workers 1`), 50 connections, ratios within this run.
  add('JWT ES256 + basic ≥ 3× oidc-provider', v('latchkey'), v('oidc-provider'), 3);
  add('JWT ES256 + basic ≥ 0.20× ceiling', v('latchkey'), v('ceiling'), 0.2);
  const lk = v('latchkey');
  out.push({ target: 'JWT ES256 + basic p99 ≤ 10 ms @ connections', value: lk ? lk.p99 : NaN, threshold: 10, pass: lk ? lk.p99 <= 10 : null, unit: 'ms' });
  add('introspection ≥ 3× oidc-provider', v('latchkey-introspect'), v('oidc-provider-introspect'), 3);
  add('private_key_jwt ≥ 3× oidc-provider', v('latchkey-private_key_jwt'), v('oidc-provider-private_key_jwt'), 3);
  add('opaque issuance ≥ 2.5× oidc-provider', v('latchkey-opaque'), v('oidc-provider-opaque'), 2.5);
  const floor = v('ceiling-es256');
  out.push({ target: 'JWT ES256 + basic vs ceiling-es256 (report only)', value: floor && lk ? ratio(lk.median, floor.median) : NaN, cpuValue: floor && lk ? ratio(floor.serverUsPerRequest, lk.serverUsPerRequest) : NaN, threshold: null, pass: null });
  const sigPeer = v('oidc-provider');
  out.push({ target: 'ceiling-es256 vs oidc-provider (report only)', value: floor && sigPeer ? ratio(floor.median, sigPeer.median) : NaN, cpuValue: floor && sigPeer ? ratio(sigPeer.serverUsPerRequest, floor.serverUsPerRequest) : NaN, threshold: null, pass: null });
  const w2 = v('latchkey-2workers');
  out.push({ target: '2 workers vs 1 (report only)', value: w2 && lk ? ratio(w2.median, lk.median) : NaN, threshold: null, pass: null });
  return out;
}

export function formatTargets(targets) {
  return targets.map((t) => {
    const val = !Number.isFinite(t.value) ? 'n/a'
      : t.unit === 'ms' ? `${t.value} ms`
        : t.unit === '/s' ? `${Math.round(t.value).toLocaleString('en-US')}/s` : `${t.value.toFixed(2)}×`;
    const verdict = t.pass === null ? (t.threshold === null ? '' : '(not measured)') : t.pass ? 'MET' : 'NOT MET';
    const cpu = Number.isFinite(t.cpuValue) ? `(by CPU µs/req: ${t.cpuValue.toFixed(2)}×)` : '';
    return `  ${t.target.padEnd(48)} ${val.padStart(10)}  ${verdict.padEnd(14)} ${cpu}`;
  }).join('\n');
}
