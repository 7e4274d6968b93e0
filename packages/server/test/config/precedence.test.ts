/**
 * Issue #17 item 5: flags > environment > config file > defaults, for EVERY setting in the table.
 * Table-driven over `settings`: each pair of layers is tried both ways round with two distinct values,
 * so a setting whose layers are merged in the wrong order (or not read from one layer) fails here.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, settings, type Config, type ConfigInput, type SettingName } from '../../src/config.js';

interface Sample {
  /** Two values that load to different results (typed as a flag or a config-file key would carry them). */
  a: string | number | boolean;
  b: string | number | boolean;
  /** Other settings this one needs to be valid (given as flags; they do not take part in the comparison). */
  with?: ConfigInput;
}

const tls = { tlsCert: '/etc/latchkey/server.crt', tlsKey: '/etc/latchkey/server.key' };

// Typed over SettingName: a setting added to the table without samples does not compile.
const samples: { [K in SettingName]: Sample } = {
  port: { a: 9001, b: 9002 },
  host: { a: '127.0.0.2', b: 'localhost' },
  issuer: { a: 'https://a.example.com', b: 'https://b.example.com/tenant' },
  dataDir: { a: '/var/lib/latchkey-a', b: '/var/lib/latchkey-b' },
  db: { a: 'sqlite:/tmp/a.db', b: 'postgres://latchkey@db/latchkey' },
  sqliteCacheMb: { a: 8, b: 64 },
  opaqueTokenCache: { a: 0, b: 5000 },
  redis: { a: 'redis://127.0.0.1:6379', b: 'rediss://cache.example.com:6380' },
  kek: { a: 'A'.repeat(43), b: 'B'.repeat(43) },
  logLevel: { a: 'warn', b: 'debug' },
  signingAlg: { a: 'EdDSA', b: 'PS256' },
  defaultAudience: { a: 'https://api-a.example.com', b: 'https://api-b.example.com' },
  accessTokenTtl: { a: 120, b: 7200 },
  maxAccessTokenTtl: { a: 90_000, b: 172_800 },
  keyRotationPeriod: { a: 3600, b: 86_400 },
  keyPrePublish: { a: 0, b: 1200 },
  maintenanceInterval: { a: 5, b: 300 },
  changePollInterval: { a: 50, b: 1000 },
  allowTokenEndpointAudience: { a: true, b: false },
  rateLimitFailures: { a: 3, b: 100 },
  rateLimitWindow: { a: 10, b: 600 },
  trustProxy: { a: '10.0.0.1', b: '192.168.0.0/16' },
  workers: { a: 2, b: 7 },
  storeOutageGrace: { a: 0, b: 900 },
  tlsCert: { a: '/a/server.crt', b: '/b/server.crt', with: { tlsKey: '/x/server.key' } },
  tlsKey: { a: '/a/server.key', b: '/b/server.key', with: { tlsCert: '/x/server.crt' } },
  tlsCa: { a: '/a/ca.crt', b: '/b/ca.crt', with: tls },
  tlsClientCertHeader: { a: 'Client-Cert', b: 'X-SSL-Client-Cert', with: { trustProxy: '127.0.0.1' } },
  clockSkew: { a: 0, b: 120 },
  assertionMaxLifetime: { a: 60, b: 600 },
  dpopProofMaxAge: { a: 10, b: 300 },
  dpopNonce: { a: true, b: false },
  jwksFetchTimeout: { a: 500, b: 10_000 },
  jwksMaxBytes: { a: 4096, b: 1_048_576 },
  jwksCacheTtl: { a: 10, b: 3600 },
  jwksRefreshCooldown: { a: 0, b: 120 },
  consoleDir: { a: '/srv/console-a', b: '/srv/console-b' },
  outboundAllow: { a: '10.0.0.0/8', b: 'jwks.corp.example,192.168.1.10' },
  opsPort: { a: 9100, b: 9200 },
  opsHost: { a: '127.0.0.2', b: '10.0.0.9' },
  registrationAccessTokenTtl: { a: 3600, b: 86_400 },
  bootstrapAdminId: { a: 'admin-a', b: 'ops.admin' },
  bootstrapAdminSecret: { a: 'a'.repeat(40), b: 'b'.repeat(48), with: { bootstrapAdminId: 'admin' } },
  bootstrapAdminSecretFile: { a: '/run/secrets/a', b: '/run/secrets/b', with: { bootstrapAdminId: 'admin' } },
};

type Layer = 'flag' | 'env' | 'file' | 'callerDefault';
/** Highest first. `callerDefault` is loadConfig's 4th argument (e.g. start's CPU-count worker default). */
const LAYERS: Layer[] = ['flag', 'env', 'file', 'callerDefault'];

const dir = mkdtempSync(join(tmpdir(), 'latchkey-precedence-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;

function load(name: SettingName, set: Partial<Record<Layer, Sample['a']>>): Config {
  const s = settings[name];
  const flags: ConfigInput = { ...samples[name].with };
  const env: NodeJS.ProcessEnv = {};
  let file: string | undefined;
  const defaults: ConfigInput = {};
  if (set.flag !== undefined) flags[name] = set.flag;
  if (set.env !== undefined) env[s.env] = String(set.env); // the environment only carries strings
  if (set.file !== undefined) {
    file = join(dir, `c${fileNo++}.json`);
    writeFileSync(file, JSON.stringify({ [name]: set.file }));
  }
  if (set.callerDefault !== undefined) defaults[name] = set.callerDefault;
  return loadConfig(flags, env, file, defaults);
}

describe('precedence: flags > environment > config file > defaults, for every setting', () => {
  it('every setting has samples', () => {
    assert.deepEqual(Object.keys(samples).sort(), Object.keys(settings).sort());
  });

  for (const name of Object.keys(settings) as SettingName[]) {
    const { a, b } = samples[name];
    it(name, () => {
      const onlyA = load(name, { flag: a })[name];
      const onlyB = load(name, { flag: b })[name];
      assert.notDeepEqual(onlyA, onlyB, 'the two samples must load to different values');

      // Unset everywhere: the table default (derived settings: something else than sample a), and
      // sample a differs from it, so "each layer alone" below shows that every layer beats the default.
      const unset = loadConfig({}, {})[name];
      const d = settings[name].default;
      if (d !== undefined) assert.deepEqual(unset, name === 'dataDir' ? resolve(String(d)) : d);
      assert.notDeepEqual(unset, onlyA, 'sample a must differ from the default');

      // Each layer alone is read (and the environment's string form parses to the same value).
      for (const layer of LAYERS) {
        assert.deepEqual(load(name, { [layer]: a })[name], onlyA, `${layer} alone`);
        assert.deepEqual(load(name, { [layer]: b })[name], onlyB, `${layer} alone`);
      }
      // Every pair of layers, both ways round: the higher one wins.
      for (let hi = 0; hi < LAYERS.length; hi++) {
        for (let lo = hi + 1; lo < LAYERS.length; lo++) {
          const H = LAYERS[hi]!;
          const L = LAYERS[lo]!;
          assert.deepEqual(load(name, { [H]: a, [L]: b })[name], onlyA, `${H} over ${L}`);
          assert.deepEqual(load(name, { [H]: b, [L]: a })[name], onlyB, `${H} over ${L}`);
        }
      }
    });
  }

  it('an empty environment variable counts as unset', () => {
    assert.equal(loadConfig({}, { LATCHKEY_PORT: '' }).port, 8080);
    const file = join(dir, 'port.json');
    writeFileSync(file, JSON.stringify({ port: 9009 }));
    assert.equal(loadConfig({}, { LATCHKEY_PORT: '' }, file).port, 9009);
  });

  it('LATCHKEY_CONFIG names the config file; the explicit path wins over it', () => {
    const f1 = join(dir, 'one.json');
    const f2 = join(dir, 'two.json');
    writeFileSync(f1, JSON.stringify({ workers: 3 }));
    writeFileSync(f2, JSON.stringify({ workers: 4 }));
    assert.equal(loadConfig({}, { LATCHKEY_CONFIG: f1 }).workers, 3);
    assert.equal(loadConfig({}, { LATCHKEY_CONFIG: f1 }, f2).workers, 4);
  });
});
