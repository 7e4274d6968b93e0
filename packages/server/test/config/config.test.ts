import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, environmentActor, loadConfig, validateIssuer } from '../../src/config.js';

describe('configuration', () => {
  it('flags > environment > defaults, frozen', () => {
    const c = loadConfig({ port: 9000 }, { LATCHKEY_PORT: '9100', LATCHKEY_HOST: '127.0.0.2' });
    assert.equal(c.port, 9000);
    assert.equal(c.host, '127.0.0.2');
    assert.equal(c.issuer, 'http://127.0.0.2:9000');
    assert.ok(Object.isFrozen(c));
    assert.equal(loadConfig({}, { LATCHKEY_PORT: '9100' }).port, 9100);
  });

  it('errors name the bad setting and its variable', () => {
    assert.throws(() => loadConfig({}, { LATCHKEY_PORT: 'eighty' }), (e: Error) => e instanceof ConfigError && /"port" \(LATCHKEY_PORT\)/.test(e.message));
    assert.throws(() => loadConfig({ signingAlg: 'HS256' }, {}), /"signingAlg"/);
    assert.throws(() => loadConfig({ db: 'mysql://x' }, {}), /"db"/);
  });

  it('an http issuer is allowed only on loopback; otherwise https is required (RFC 8414)', () => {
    assert.equal(validateIssuer('http://127.0.0.1:8080'), 'http://127.0.0.1:8080');
    assert.equal(validateIssuer('http://localhost:8080/'), 'http://localhost:8080');
    assert.equal(validateIssuer('http://[::1]:8080'), 'http://[::1]:8080');
    assert.equal(validateIssuer('https://auth.example.com/'), 'https://auth.example.com');
    assert.equal(validateIssuer('https://auth.example.com/tenant/'), 'https://auth.example.com/tenant');
    assert.throws(() => validateIssuer('http://auth.example.com'), /https/);
    assert.throws(() => validateIssuer('http://10.0.0.1:8080'), /https/);
    assert.throws(() => validateIssuer('https://auth.example.com/?x=1'), /query or fragment/);
    assert.throws(() => loadConfig({ issuer: 'http://auth.example.com' }, {}), ConfigError);
  });

  it('a non-loopback host without an explicit issuer is a ConfigError naming the issuer setting (issue #17)', () => {
    const named = (host: string) => (e: Error) =>
      e instanceof ConfigError && e.message.startsWith(`invalid setting "issuer" (LATCHKEY_ISSUER / --issuer): required because host ${host} is not a loopback address`);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'auth.internal', '192.168.1.1']) {
      assert.throws(() => loadConfig({ host }, {}), named(host), host);
      assert.throws(() => loadConfig({}, { LATCHKEY_HOST: host }), named(host), `${host} from the environment`);
    }
    // With an explicit issuer it starts, and the issuer is what was configured (not the listen address).
    const c = loadConfig({ host: '0.0.0.0', issuer: 'https://auth.example.com/' }, {});
    assert.equal(c.issuer, 'https://auth.example.com');
    assert.equal(c.defaultAudience, 'https://auth.example.com');
    // Loopback listeners still derive it.
    assert.equal(loadConfig({ host: 'localhost' }, {}).issuer, 'http://localhost:8080');
    assert.equal(loadConfig({ host: '::1', port: 9000 }, {}).issuer, 'http://[::1]:9000');
    assert.equal(loadConfig({ host: '127.0.0.1', ...{ tlsCert: '/c', tlsKey: '/k' } }, {}).issuer, 'https://127.0.0.1:8080');
  });

  it('port 0 never yields an issuer with port 0: refused without an explicit issuer', () => {
    assert.throws(
      () => loadConfig({ port: 0 }, {}),
      (e: Error) => e instanceof ConfigError && /^invalid setting "issuer" \(LATCHKEY_ISSUER \/ --issuer\): required with port 0/.test(e.message),
    );
    assert.throws(() => loadConfig({}, { LATCHKEY_PORT: '0' }), /"issuer".*port 0/);
    const c = loadConfig({ port: 0, issuer: 'http://127.0.0.1:8443' }, {});
    assert.equal(c.port, 0);
    assert.equal(c.issuer, 'http://127.0.0.1:8443');
  });

  it('config file: unknown keys, non-objects and unreadable files name the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-config-'));
    try {
      const f = join(dir, 'c.json');
      writeFileSync(f, JSON.stringify({ prot: 8080 }));
      assert.throws(() => loadConfig({}, {}, f), (e: Error) => e instanceof ConfigError && e.message === `config file ${f}: unknown setting "prot"`);
      writeFileSync(f, '[1]');
      assert.throws(() => loadConfig({}, {}, f), (e: Error) => e instanceof ConfigError && e.message === `config file ${f}: must be a JSON object`);
      writeFileSync(f, JSON.stringify({ toString: 1 }));
      assert.throws(() => loadConfig({}, {}, f), /unknown setting "toString"/);
      assert.throws(() => loadConfig({}, {}, join(dir, 'missing.json')), (e: Error) => e instanceof ConfigError && e.message.includes('missing.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the CLI audit actor comes from USER, then LOGNAME', () => {
    assert.equal(environmentActor({ USER: 'ada', LOGNAME: 'x' }), 'cli:ada');
    assert.equal(environmentActor({ LOGNAME: 'grace' }), 'cli:grace');
    assert.equal(environmentActor({}), 'cli:unknown');
  });
});
