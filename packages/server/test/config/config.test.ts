import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, validateIssuer } from '../../src/config.js';

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
});
