/** `latchkey start --tls-cert --tls-key --tls-ca` as a real process: HTTPS listener, mTLS token request. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { CLI, runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/harness.js';
import { httpsFetch, makePki, postFormTls, x5tS256, type Pki } from './helpers.js';

describe('latchkey start with --tls-cert/--tls-key/--tls-ca', () => {
  let pki: Pki;
  let dataDir: string;
  let proc: ChildProcess;
  let url: string;
  let out = '';

  before(async () => {
    pki = makePki();
    dataDir = mkdtempSync(join(tmpdir(), 'latchkey-cli-tls-'));
    const port = await freePort();
    proc = spawn(
      process.execPath,
      [CLI, 'start', '--port', String(port), '--data-dir', dataDir, '--workers', '1', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-ca', pki.caCert],
      { env: { ...process.env, LATCHKEY_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const t0 = Date.now();
    while (!/listening on https:\/\//.test(out)) {
      if (proc.exitCode !== null || Date.now() - t0 > 20_000) throw new Error(`server did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    url = `https://127.0.0.1:${port}`;
  });
  after(async () => {
    if (proc && proc.exitCode === null) {
      await new Promise((r) => {
        proc.once('exit', r);
        proc.kill('SIGTERM');
      });
    }
    rmSync(dataDir, { recursive: true, force: true });
    pki?.cleanup();
  });

  it('serves HTTPS with an https issuer and advertises the mTLS methods', async () => {
    assert.match(out, new RegExp(`issuer ${url.replace(/[.]/g, '\\.')}`));
    const m = (await (await httpsFetch(`${url}/.well-known/oauth-authorization-server`, {}, { ca: readFileSync(pki.caCert) })).json()) as any;
    assert.equal(m.issuer, url);
    assert.ok(m.token_endpoint_auth_methods_supported.includes('tls_client_auth'));
    assert.equal(m.tls_client_certificate_bound_access_tokens, true);
  });

  it('a tls_client_auth client created with the CLI gets a certificate-bound token over mTLS', async () => {
    const created = await runCli(['clients', 'create', '--data-dir', dataDir, '--name', 'orders', '--scope', 'a', '--auth-method', 'tls_client_auth', '--tls-san-dns', 'orders.acme.test', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const clientId = JSON.parse(created.stdout).client_id as string;
    const tls = { ca: readFileSync(pki.caCert), cert: pki.client('orders').certPem, key: pki.client('orders').keyPem };
    // SPEC §4: a CLI change reaches the running server within a second (change feed).
    let r;
    const t0 = Date.now();
    do {
      r = await postFormTls(`${url}/oauth2/token`, { grant_type: 'client_credentials', client_id: clientId }, tls);
      if (r.status === 200) break;
      await new Promise((res) => setTimeout(res, 100));
    } while (Date.now() - t0 < 5000);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(decodeJwt(r.json.access_token).cnf, { 'x5t#S256': x5tS256(pki.client('orders').x509) });
  });
});
