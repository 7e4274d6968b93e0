/**
 * The service assets in deploy/ (issue #17 items 2 and 7). Containers cannot be built or run on these
 * machines, so what is tested is what can be: the exact command, environment and health check the image
 * runs (against this checkout, or an installed tarball via LATCHKEY_TEST_LATCHKEY_PACKAGE); the systemd
 * unit (`systemd-analyze verify` and its offline security score); the Kubernetes YAML (parsed, then checked
 * for the pieces the docs promise); the Prometheus rules (`promtool check rules` + `promtool test rules`);
 * and that every metric the dashboard and the rules use is exported by the running server.
 * External tools missing → the part is SKIPPED loudly; with LATCHKEY_TEST_REQUIRE_TOOLS=1 (.ci/run) it fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { settings } from '../../src/config.js';
import { basic, freePort } from '../helpers/harness.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
/** Where the image installs the package; the test maps it to this checkout's packages/server (or an installed copy). */
const IMAGE_PACKAGE = '/opt/latchkey/node_modules/latchkey/';
const PACKAGE = process.env.LATCHKEY_TEST_LATCHKEY_PACKAGE ?? join(ROOT, 'packages', 'server');
const TOOLS_REQUIRED = process.env.LATCHKEY_TEST_REQUIRE_TOOLS === '1';

/** An external checker: present, or skipped loudly (failing when required). */
function tool(cmd: string, args: string[], install: string): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status === 0) return true;
  if (TOOLS_REQUIRED) throw new Error(`${cmd} is required (LATCHKEY_TEST_REQUIRE_TOOLS=1) but not available: ${install}`);
  process.stderr.write(`\n*** ${cmd} not available: its deploy/ checks are SKIPPED (${install}) ***\n\n`);
  return false;
}

/** Environment variable names a deploy asset may set: every setting's, plus the few read outside the table. */
const KNOWN_ENV = new Set<string>([
  ...Object.values(settings).map((s) => s.env),
  'LATCHKEY_CONFIG',
  'NODE_ENV',
]);

// ---------------------------------------------------------------------------------------------------
// Dockerfile

interface Dockerfile {
  stages: number;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  healthcheckFlags: string;
  user: string;
  volumes: string[];
  copies: string[];
}

/** Joins continuation lines and reads the instructions this test needs (exec-form JSON arrays only). */
function parseDockerfile(text: string): Dockerfile {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const d: Dockerfile = { stages: 0, env: {}, entrypoint: [], cmd: [], healthcheck: [], healthcheckFlags: '', user: '', volumes: [], copies: [] };
  for (const l of lines) {
    const [, ins, rest] = /^(\w+)\s+(.*)$/.exec(l) ?? [];
    switch (ins?.toUpperCase()) {
      case 'FROM':
        d.stages++;
        d.env = {}; // only the final stage's environment counts
        break;
      case 'ENV':
        for (const m of rest!.matchAll(/([A-Z_][A-Z0-9_]*)=("[^"]*"|\S+)/g)) d.env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
        break;
      case 'ENTRYPOINT':
        d.entrypoint = JSON.parse(rest!) as string[];
        break;
      case 'CMD':
        d.cmd = JSON.parse(rest!) as string[];
        break;
      case 'HEALTHCHECK': {
        const m = /^(.*?)\bCMD\s+(\[.*\])$/.exec(rest!);
        assert.ok(m, 'HEALTHCHECK uses the exec form: HEALTHCHECK [options] CMD ["…"]');
        d.healthcheckFlags = m[1]!;
        d.healthcheck = JSON.parse(m[2]!) as string[];
        break;
      }
      case 'USER':
        d.user = rest!;
        break;
      case 'VOLUME':
        d.volumes = rest!.startsWith('[') ? (JSON.parse(rest!) as string[]) : rest!.split(/\s+/);
        break;
      case 'COPY':
        d.copies.push(rest!);
        break;
    }
  }
  return d;
}

/** The image's command line, with the image's install path mapped to the package under test. */
const local = (argv: string[]) => argv.map((a) => (a.startsWith(IMAGE_PACKAGE) ? join(PACKAGE, a.slice(IMAGE_PACKAGE.length)) : a));

function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('LATCHKEY_') && k !== 'NODE_ENV') env[k] = v;
  return { ...env, ...extra };
}

describe('deploy/Dockerfile', () => {
  const df = parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-image-'));
  let proc: ChildProcess | undefined;
  let out = '';
  let port = 0;
  let imageEnv: Record<string, string> = {};
  after(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is multi-stage, built from the npm tarballs, runs as a non-root user with a /data volume and a /healthz check', () => {
    assert.ok(df.stages >= 2, 'multi-stage');
    assert.ok(df.copies.some((c) => /latchkey-\*\.tgz/.test(c)), 'installs from the packed tarballs');
    assert.match(df.user, /^[1-9]\d*(:[1-9]\d*)?$/, 'USER is a numeric non-root uid (Kubernetes runAsNonRoot can verify it)');
    assert.deepEqual(df.volumes, ['/data']);
    assert.equal(df.env.LATCHKEY_DATA_DIR, '/data');
    assert.match(df.healthcheck.join(' '), /\/healthz/);
    assert.match(df.healthcheckFlags, /--interval=\S+/);
    assert.equal(df.entrypoint[1], `${IMAGE_PACKAGE}bin/latchkey.js`, 'the entry point is the package bin');
    for (const k of Object.keys(df.env)) assert.ok(KNOWN_ENV.has(k), `ENV ${k} is not a Latchkey setting`);
    assert.equal(df.env.LATCHKEY_ISSUER, undefined, 'no baked-in issuer: the operator must set it');
  });

  it('the image command without LATCHKEY_ISSUER refuses to start, naming the issuer setting (exit 2)', () => {
    const argv = local([...df.entrypoint, ...df.cmd]);
    const r = spawnSync(argv[0]!, argv.slice(1), { env: cleanEnv({ ...df.env, LATCHKEY_DATA_DIR: dataDir }), encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^latchkey: invalid setting "issuer" \(LATCHKEY_ISSUER \/ --issuer\): required because host 0\.0\.0\.0 is not a loopback address/);
  });

  it('the image command with the image environment (+ issuer) serves; its HEALTHCHECK passes; the first admin gets a token', async () => {
    port = await freePort();
    imageEnv = cleanEnv({ ...df.env, LATCHKEY_DATA_DIR: dataDir, LATCHKEY_PORT: String(port), LATCHKEY_ISSUER: `http://127.0.0.1:${port}`, LATCHKEY_LOG_LEVEL: 'warn' });
    const argv = local([...df.entrypoint, ...df.cmd]);
    proc = spawn(argv[0]!, argv.slice(1), { env: imageEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => (out += d));
    const t0 = Date.now();
    while (!/Latchkey listening on/.test(out)) {
      if (proc.exitCode !== null || Date.now() - t0 > 60_000) throw new Error(`image command did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(out, new RegExp(`Latchkey listening on http://0\\.0\\.0\\.0:${port} \\(issuer http://127\\.0\\.0\\.1:${port}, store sqlite\\)`));
    const hc = local(df.healthcheck);
    const health = spawnSync(hc[0]!, hc.slice(1), { env: imageEnv, timeout: 10_000 });
    assert.equal(health.status, 0, 'HEALTHCHECK command succeeds against the running server');
    const id = /client_id:\s+(\S+)/.exec(out)?.[1];
    const secret = /client_secret:\s+(\S+)/.exec(out)?.[1];
    assert.ok(id && secret, 'first start printed the admin client');
    const res = await fetch(`http://127.0.0.1:${port}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { token_type: string }).token_type, 'Bearer');
  });

  it('the HEALTHCHECK fails when nothing answers', async () => {
    const hc = local(df.healthcheck);
    const r = spawnSync(hc[0]!, hc.slice(1), { env: { ...imageEnv, LATCHKEY_PORT: String(await freePort()) }, timeout: 10_000 });
    assert.equal(r.status, 1);
  });

  describe('every metric the Grafana dashboard and the Prometheus rules use is exported by the running server', () => {
    let exported: Map<string, string>;
    before(async () => {
      assert.ok(port, 'the image command is running');
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      exported = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
      assert.ok(exported.size > 10, 'metrics were exported');
    });
    /** Prometheus' own series (not exported by targets). */
    const SYNTHETIC = new Set(['up']);
    const isExported = (name: string) => {
      if (SYNTHETIC.has(name) || exported.has(name)) return true;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return base !== name && ['histogram', 'summary'].includes(exported.get(base) ?? '');
    };
    const namesIn = (exprs: string[]) => new Set(exprs.flatMap((e) => [...e.matchAll(/\b(latchkey_[a-z0-9_]+|up)\b(?=\s*[{[)\s]|$)/g)].map((m) => m[1]!)));

    it('deploy/grafana/latchkey-dashboard.json', () => {
      const dash = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'latchkey-dashboard.json'), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
      const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
      assert.ok(exprs.length >= 10, 'the dashboard has queries');
      const names = namesIn(exprs);
      assert.ok(names.size >= 10, `metric names found: ${[...names].join(', ')}`);
      for (const n of names) assert.ok(isExported(n), `dashboard uses ${n}, which the server does not export`);
    });

    it('deploy/prometheus/latchkey-rules.yaml', () => {
      const text = readFileSync(join(DEPLOY, 'prometheus', 'latchkey-rules.yaml'), 'utf8');
      const exprs = [...text.matchAll(/^\s+expr:\s*(.+)$/gm)].map((m) => m[1]!);
      assert.ok(exprs.length >= 5, 'rules found');
      const names = namesIn(exprs);
      for (const n of names) assert.ok(isExported(n), `alert rules use ${n}, which the server does not export`);
    });

    it('the check itself rejects a name the server does not export', () => {
      assert.equal(isExported('latchkey_tokens_minted_total'), false);
      assert.equal(isExported('latchkey_clients_bucket'), false);
      assert.equal(isExported('latchkey_token_request_duration_seconds_bucket'), true);
    });
  });
});

// ---------------------------------------------------------------------------------------------------
// systemd

describe('deploy/systemd/latchkey.service', () => {
  const unit = join(DEPLOY, 'systemd', 'latchkey.service');
  const text = readFileSync(unit, 'utf8');
  const directives = new Map<string, string[]>();
  for (const l of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(l.trim());
    if (m) directives.set(m[1]!, [...(directives.get(m[1]!) ?? []), m[2]!]);
  }
  const one = (k: string) => directives.get(k)?.at(-1);

  it('is hardened: dynamic user, state directory, read-only system, no new privileges, no capabilities', () => {
    assert.equal(one('DynamicUser'), 'yes');
    assert.equal(one('StateDirectory'), 'latchkey');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('CapabilityBoundingSet'), '');
    assert.equal(one('ProtectHome'), 'yes');
    assert.equal(one('PrivateTmp'), 'yes');
    assert.ok(directives.get('Environment')!.includes('LATCHKEY_DATA_DIR=/var/lib/latchkey'), 'data dir is the state directory');
    assert.equal(one('RestartPreventExitStatus'), '2', 'configuration refusals are not retried');
    for (const e of directives.get('Environment') ?? []) {
      const name = e.split('=', 1)[0]!;
      assert.ok(KNOWN_ENV.has(name), `Environment ${name} is not a Latchkey setting`);
    }
  });

  it('runs the same entry point as the image', () => {
    const df = parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
    assert.equal(one('ExecStart'), `/usr/bin/node ${df.entrypoint[1]} ${df.cmd.join(' ')}`);
  });

  it('systemd-analyze verify: no errors or warnings; offline security exposure below 2.0', (t) => {
    if (!tool('systemd-analyze', ['--version'], 'apt-get install -y systemd')) return t.skip('systemd-analyze not available');
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', `verify printed: ${r.stderr}`);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', unit], { encoding: 'utf8' });
    const level = /Overall exposure level for latchkey\.service: ([\d.]+)/.exec(sec.stdout + sec.stderr)?.[1];
    assert.ok(level, `security score printed: ${sec.stdout.slice(-300)} ${sec.stderr}`);
    assert.ok(Number(level) < 2, `exposure ${level}`);
  });
});

// ---------------------------------------------------------------------------------------------------
// Prometheus

describe('deploy/prometheus', () => {
  it('promtool check rules and promtool test rules pass', (t) => {
    if (!tool('promtool', ['--version'], 'apt-get install -y prometheus')) return t.skip('promtool not available');
    const dir = join(DEPLOY, 'prometheus');
    execFileSync('promtool', ['check', 'rules', 'latchkey-rules.yaml'], { cwd: dir, stdio: 'pipe' });
    const r = spawnSync('promtool', ['test', 'rules', 'latchkey-rules.test.yaml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /SUCCESS/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Kubernetes

/** Parsed YAML: walked structurally, checked field by field below. */
type Doc = Record<string, any>;

describe('deploy/kubernetes', () => {
  const dir = join(DEPLOY, 'kubernetes');
  let docs: Doc[] = [];
  let kustomization: Doc;
  const byKind = (k: string) => docs.filter((d) => d.kind === k);

  before(() => {
    if (!tool('python3', ['-c', 'import yaml'], 'apt-get install -y python3-yaml')) return; // each test then skips
    const parse = (file: string) =>
      JSON.parse(execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(list(yaml.safe_load_all(open(sys.argv[1])))))', file], { encoding: 'utf8' })) as Doc[];
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    kustomization = parse(join(dir, 'kustomization.yaml'))[0]!;
    assert.deepEqual([...(kustomization.resources as string[])].sort(), files.filter((f) => f !== 'kustomization.yaml').sort(), 'kustomization lists every manifest');
    docs = files.filter((f) => f !== 'kustomization.yaml').flatMap((f) => parse(join(dir, f)));
  });

  it('has a Secret, a Deployment, a Service and a PodDisruptionBudget', (t) => {
    if (docs.length === 0) return t.skip('no YAML parser');
    assert.deepEqual(docs.map((d) => d.kind).sort(), ['Deployment', 'PodDisruptionBudget', 'Secret', 'Service']);
  });

  it('the Deployment: several replicas, probes on /healthz and /readyz, secrets from the Secret, non-root, issuer set', (t) => {
    if (docs.length === 0) return t.skip('no YAML parser');
    const dep = byKind('Deployment')[0]!;
    const secret = byKind('Secret')[0]!;
    assert.ok(dep.spec.replicas >= 2, 'N replicas');
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.startupProbe.httpGet.path, '/healthz');
    const portName = c.ports[0].name;
    for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) assert.equal(p.httpGet.port, portName);
    const env = Object.fromEntries((c.env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    assert.equal(String(c.ports[0].containerPort), env.LATCHKEY_PORT);
    assert.match(env.LATCHKEY_ISSUER ?? '', /^https:\/\//, 'explicit https issuer');
    assert.equal(env.LATCHKEY_HOST, '0.0.0.0');
    for (const k of [...Object.keys(env), ...Object.keys(secret.stringData)]) assert.ok(KNOWN_ENV.has(k), `${k} is not a Latchkey setting`);
    for (const k of ['LATCHKEY_KEK', 'LATCHKEY_DB', 'LATCHKEY_REDIS', 'LATCHKEY_BOOTSTRAP_ADMIN_ID', 'LATCHKEY_BOOTSTRAP_ADMIN_SECRET']) {
      assert.ok(k in secret.stringData, `Secret holds ${k}`);
      assert.ok(!(k in env), `${k} is not written in clear in the Deployment`);
    }
    assert.match(secret.stringData.LATCHKEY_DB, /^postgres:\/\//, 'replicas share PostgreSQL');
    assert.match(secret.stringData.LATCHKEY_REDIS, /^redis:\/\//, 'and Redis');
    assert.equal(c.envFrom[0].secretRef.name, secret.metadata.name);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.volumeMounts.map((m: Doc) => m.mountPath).sort(), ['/data', '/tmp']);
    assert.deepEqual(dep.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'latchkey' });
    for (const [k, v] of Object.entries(dep.spec.selector.matchLabels as Record<string, string>)) assert.equal(dep.spec.template.metadata.labels[k], v);
  });

  it('the Service and the PodDisruptionBudget select the Deployment’s pods', (t) => {
    if (docs.length === 0) return t.skip('no YAML parser');
    const labels = byKind('Deployment')[0]!.spec.template.metadata.labels as Record<string, string>;
    const svc = byKind('Service')[0]!;
    const pdb = byKind('PodDisruptionBudget')[0]!;
    for (const [k, v] of Object.entries(svc.spec.selector as Record<string, string>)) assert.equal(labels[k], v);
    for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels as Record<string, string>)) assert.equal(labels[k], v);
    assert.equal(svc.spec.ports[0].targetPort, 'http');
    assert.ok(pdb.spec.maxUnavailable === 1 || pdb.spec.minAvailable >= 1, 'the PDB keeps pods serving');
  });
});
