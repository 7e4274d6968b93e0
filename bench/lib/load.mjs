// The one load generator every scenario uses: autocannon's programmatic API,
// with a per-response check and a sample of bodies kept for deeper
// verification (signature / introspection) after the run.
import autocannon from 'autocannon';

/**
 * @param {object} o
 * @param {string} o.url          base URL, e.g. http://127.0.0.1:1234
 * @param {object} o.request      {method, path, headers, body} or with setupRequest
 * @param {number} o.connections
 * @param {number} o.duration     seconds (ignored when o.amount is set)
 * @param {number} [o.amount]     stop after this many requests
 * @param {(body: object) => string|undefined} o.check  returns a sample value (e.g. the token) when the body is good, undefined when not
 * @param {number} [o.sampleSize] how many sample values to keep (reservoir)
 */
export async function runLoad(o) {
  const sampleSize = o.sampleSize ?? 200;
  const samples = [];
  let seen = 0;
  let badBodies = 0;
  let firstBad;
  const verifyBody = (raw) => {
    let value;
    try {
      value = o.check(JSON.parse(raw));
    } catch {
      value = undefined;
    }
    if (value === undefined) {
      badBodies++;
      if (firstBad === undefined) firstBad = String(raw).slice(0, 300);
      return false;
    }
    seen++;
    if (samples.length < sampleSize) samples.push(value);
    else {
      const j = Math.floor(Math.random() * seen);
      if (j < sampleSize) samples[j] = value;
    }
    return true;
  };
  const opts = {
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    timeout: 10,
    requests: [o.request],
    verifyBody,
    ...(o.amount ? { amount: o.amount } : { duration: o.duration }),
  };
  const firstErrors = [];
  const result = await new Promise((resolve, reject) => {
    const inst = autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
    inst.on('reqError', (err) => { if (firstErrors.length < 3) firstErrors.push(String(err?.message ?? err)); });
    if (o.onInstance) o.onInstance(inst);
  });
  const ok = result['2xx'];
  const seconds = result.duration; // autocannon reports the measured seconds
  return {
    rps: ok / seconds,
    seconds,
    total: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    mismatches: result.mismatches,
    badBodies,
    firstBad,
    firstErrors,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.average,
    },
    samples,
  };
}
