import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { actor, fail, intArg, kv, print, table, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';
import { OAuthError } from '../../shared/errors.js';
import { CLIENT_ID_PATTERN } from '../../management/client-metadata.js';
import { IMPORT_FORMATS, type ImportFormat, type ImportReport } from '../../management/client-import.js';
import { serverError, UsageError } from '../describe-error.js';
import { scopeTokensValid } from './scope-arg.js';
import { ClientService } from '../../management/clients.service.js';
import { localClientOps, remoteClientOps, type ClientOps } from '../../admin/remote-clients.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const scopeArg = (name: string) => (v: string) => {
  if (!scopeTokensValid(v)) throw new InvalidArgumentError(`${name} must be space-separated scope tokens (RFC 6749 §3.3)`);
  return v;
};
const clientIdArg = (v: string) => {
  if (!CLIENT_ID_PATTERN.test(v)) throw new InvalidArgumentError('--client-id must be 3 to 128 of A-Z a-z 0-9 . _ : - and must not start with "-"');
  return v;
};
const urlArg = (name: string) => (v: string) => {
  if (!URL.canParse(v)) throw new InvalidArgumentError(`${name} must be an absolute URL`);
  return v;
};

/** --jwks-file: a JWK Set in JSON; anything else is named (a PEM key is the usual mistake). */
function readJwksFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--jwks-file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (/^\s*-----BEGIN /.test(text)) throw new UsageError(`--jwks-file ${path}: not a JWKS (looks like PEM; convert the public key to a JSON Web Key Set {"keys": [...]})`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UsageError(`--jwks-file ${path}: not a JWKS (not JSON)`);
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) throw new UsageError(`--jwks-file ${path}: not a JWKS (no "keys" array)`);
  return doc;
}

interface MetaOpts {
  name?: string;
  clientId?: string;
  scope?: string;
  defaultScope?: string;
  audience?: string[];
  authMethod?: string;
  jwksFile?: string;
  jwksUri?: string;
  tokenTtl?: number;
  tokenFormat?: string;
  tlsSubjectDn?: string;
  tlsSanDns?: string;
  dpopBound?: boolean;
  federatedIssuer?: string;
  federatedSubject?: string;
  federatedClaim?: string[];
}

function metaOptions(cmd: Command): Command {
  return cmd
    .option('--scope <scopes>', 'allowed scopes, space-separated', scopeArg('--scope'))
    .option('--default-scope <scopes>', 'scopes granted when a request names none (default: all allowed)', scopeArg('--default-scope'))
    .option('--audience <url>', 'allowed audience / RFC 8707 resource (repeatable; the first is the default)', (v: string, prev: string[] = []) => [...prev, urlArg('--audience')(v)])
    .option('--jwks-file <file>', 'JSON Web Key Set with the client public keys (private_key_jwt, self_signed_tls_client_auth)')
    .option('--jwks-uri <url>', 'URL of the client JWKS', urlArg('--jwks-uri'))
    .option('--token-ttl <seconds>', 'access token lifetime', intArg('--token-ttl', 1, 31_536_000, 'seconds'))
    .addOption(new Option('--token-format <format>', 'access token format').choices(['jwt', 'opaque']))
    .option('--tls-subject-dn <dn>', 'tls_client_auth: expected certificate subject DN (RFC 4514)')
    .option('--tls-san-dns <name>', 'tls_client_auth: expected certificate DNS SAN')
    .option('--dpop-bound', 'require DPoP-bound access tokens')
    .option('--federated-issuer <name>', 'federated_jwt: the trusted issuer (latchkey trust list) whose tokens authenticate this client')
    .option('--federated-subject <sub>', 'federated_jwt: the exact sub of those tokens (system:serviceaccount:NS:NAME, spiffe://…, repo:ORG/REPO:…)')
    .option('--federated-claim <key=value>', 'federated_jwt: a claim that must be equal (repeatable; dotted names reach into objects, e.g. kubernetes.io.namespace=prod)', collect);
}

function toMetadata(o: MetaOpts): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (o.clientId !== undefined) m.client_id = o.clientId;
  if (o.name !== undefined) m.client_name = o.name;
  if (o.scope !== undefined) m.scope = o.scope;
  if (o.defaultScope !== undefined) m.default_scope = o.defaultScope;
  if (o.audience !== undefined) m.audience = o.audience;
  if (o.authMethod !== undefined) m.token_endpoint_auth_method = o.authMethod;
  if (o.jwksFile !== undefined) m.jwks = readJwksFile(o.jwksFile);
  if (o.jwksUri !== undefined) m.jwks_uri = o.jwksUri;
  if (o.tokenTtl !== undefined) m.access_token_ttl = o.tokenTtl;
  if (o.tokenFormat !== undefined) m.access_token_format = o.tokenFormat;
  if (o.tlsSubjectDn !== undefined) m.tls_client_auth_subject_dn = o.tlsSubjectDn;
  if (o.tlsSanDns !== undefined) m.tls_client_auth_san_dns = o.tlsSanDns;
  if (o.dpopBound) m.dpop_bound_access_tokens = true;
  if (o.federatedIssuer !== undefined || o.federatedSubject !== undefined || o.federatedClaim !== undefined) {
    if (o.federatedIssuer === undefined || o.federatedSubject === undefined) throw new UsageError('--federated-issuer and --federated-subject go together');
    const claims: Record<string, string> = {};
    for (const c of o.federatedClaim ?? []) {
      const i = c.indexOf('=');
      if (i <= 0) throw new UsageError(`--federated-claim ${c}: expected KEY=VALUE`);
      claims[c.slice(0, i)] = c.slice(i + 1);
    }
    m.federated_identity = { issuer: o.federatedIssuer, subject: o.federatedSubject, ...(Object.keys(claims).length ? { claims } : {}) };
    // A federated client has no secret: the method follows from the flags unless another was asked for.
    if (o.authMethod === undefined || o.authMethod === 'client_secret_basic') m.token_endpoint_auth_method = 'federated_jwt';
  }
  return m;
}

/** The import file as JSON (`-`: standard input); a file mistake is one line naming the path. */
function readImportFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new UsageError(`clients import ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`clients import ${file}: not JSON (expected clients export output, a Keycloak client or realm export, or Ory Hydra clients)`);
  }
}

function importSummary(r: ImportReport): string {
  const lines = [`format: ${r.format}${r.dry_run ? ' (dry run: nothing written)' : ''}`];
  for (const i of r.imported) {
    lines.push(`${r.dry_run ? 'would import' : 'imported'} ${i.client_id} (${i.token_endpoint_auth_method}${i.secret_imported ? ', secret kept: rotate it later' : ''})`);
    if (i.client_secret) lines.push(`  new client_secret: ${i.client_secret}   (shown only once)`);
    for (const n of i.notes) lines.push(`  note: ${n}`);
  }
  for (const s of r.skipped) lines.push(`skipped ${s.client_id ?? '(no id)'}: ${s.reason}`);
  lines.push(`${r.imported.length} ${r.dry_run ? 'would be imported' : 'imported'}, ${r.skipped.length} skipped`);
  return lines.join('\n');
}

const COLS = ['client_id', 'client_name', 'token_endpoint_auth_method', 'scope', 'access_token_format', 'disabled'];

type Opts = StoreOptions & MetaOpts & RemoteOpts & Record<string, unknown>;

interface RemoteOpts {
  server?: string;
  adminToken?: string;
  adminClientId?: string;
  adminClientSecret?: string;
}

/** --server URL: go through that server's admin API (/admin/v1) instead of opening the store. */
function withRemoteOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--server <url>', 'work through the admin API of this running server instead of the store').env('LATCHKEY_SERVER'))
    .addOption(new Option('--admin-token <token>', 'with --server: an access token with scope latchkey:admin').env('LATCHKEY_ADMIN_TOKEN'))
    .addOption(new Option('--admin-client-id <id>', 'with --server: admin client id (gets a token by client credentials)').env('LATCHKEY_ADMIN_CLIENT_ID'))
    .addOption(new Option('--admin-client-secret <secret>', 'with --server: admin client secret').env('LATCHKEY_ADMIN_CLIENT_SECRET'));
}

/** Runs `fn` on the store (default) or through the admin API (--server). */
async function withClients<T>(o: Opts, fn: (c: ClientOps) => Promise<T>, mode: { mustExist?: boolean } = {}): Promise<T> {
  if (o.server) {
    const server = o.server;
    let u: URL | undefined;
    try {
      u = new URL(server);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:')) throw new UsageError(`--server ${server}: not an http(s) URL`);
    try {
      return await fn(remoteClientOps({ server, token: o.adminToken, clientId: o.adminClientId, clientSecret: o.adminClientSecret }));
    } catch (e) {
      throw serverError(e, server);
    }
  }
  return withRuntime(o, (s) => fn(localClientOps(new ClientService(s), actor())), {}, mode);
}

export function clientsCommand(): Command {
  const clients = new Command('clients').description('manage OAuth clients');

  withStoreOptions(
    metaOptions(
      clients
        .command('create')
        .description('register a client; prints its secret once')
        .requiredOption('--name <name>', 'client_name')
        .option('--client-id <id>', 'choose the client_id ([A-Za-z0-9._:-]{3,128}, not starting with "-"); default: generated', clientIdArg)
        .addOption(
          new Option('--auth-method <method>', 'token_endpoint_auth_method')
            .choices(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'federated_jwt'])
            .default('client_secret_basic'),
        ),
    ),
  ).action(async (o: Opts) => {
    try {
      const created = await withClients(o, (c) => c.create(toMetadata(o)));
      print(o, created, () =>
        kv(created) + (created.client_secret ? '\n\nThe client secret is shown only once. Store it in your secret manager now.' : ''),
      );
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(
    clients
      .command('list')
      .description('list clients')
      .option('--search <text>', 'substring of client_id or client_name')
      .option('--limit <n>', 'page size', intArg('--limit', 1, 100_000), 100)
      .option('--offset <n>', 'page offset', intArg('--offset', 0), 0),
  ).action(async (o: Opts & { search?: string; limit: number; offset: number }) => {
    try {
      const res = await withClients(o, (c) => c.list({ search: o.search, limit: o.limit, offset: o.offset }));
      print(o, res, () => table(res.clients, COLS) + `\n${res.total} client(s)`);
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(clients.command('show').description('show one client').argument('<client_id>')).action(async (id: string, o: Opts) => {
    try {
      const c = await withClients(o, (c) => c.get(id));
      if (!c) throw new OAuthError('not_found', `no client ${id}`);
      print(o, c, () => kv(c));
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(metaOptions(clients.command('update').description('change client metadata').argument('<client_id>').option('--name <name>', 'client_name'))).action(
    async (id: string, o: Opts) => {
      try {
        const c = await withClients(o, (c) => c.update(id, toMetadata(o)));
        print(o, c, () => kv(c));
      } catch (e) {
        fail(e, o.json);
      }
    },
  );

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    withStoreOptions(clients.command(name).description(`${name} a client (takes effect on running servers within 1 s)`).argument('<client_id>')).action(
      async (id: string, o: Opts) => {
        try {
          const c = await withClients(o, (c) => c.setDisabled(id, disabled));
          print(o, c, () => `client ${id} ${disabled ? 'disabled' : 'enabled'}`);
        } catch (e) {
          fail(e, o.json);
        }
      },
    );
  }

  withStoreOptions(clients.command('delete').description('delete a client').argument('<client_id>')).action(async (id: string, o: Opts) => {
    try {
      await withClients(o, (c) => c.delete(id));
      print(o, { client_id: id, deleted: true }, () => `client ${id} deleted`);
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(
    clients
      .command('rotate-secret')
      .description('issue a new secret; old secrets keep working for the grace period, then fail')
      .argument('<client_id>')
      .option('--grace <seconds>', 'how long the old secret keeps working', intArg('--grace', 0, 30 * 86_400, 'seconds'), 0)
      .option('--expires-in <seconds>', 'give the new secret an expiry', intArg('--expires-in', 1, 10 * 31_536_000, 'seconds')),
  ).action(async (id: string, o: Opts & { grace: number; expiresIn?: number }) => {
    try {
      const c = await withClients(o, (c) => c.rotateSecret(id, { graceSeconds: o.grace, expiresIn: o.expiresIn }));
      print(o, c, () => kv(c) + '\n\nThe new client secret is shown only once.');
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(
    clients
      .command('import')
      .description('import clients from Latchkey (clients export), Keycloak or Ory Hydra JSON; keeps client ids and given secrets (flagged secret_imported)')
      .argument('<file>', 'JSON file, or - for standard input')
      .addOption(new Option('--format <format>', 'the file format (default: detected)').choices(IMPORT_FORMATS as string[]))
      .option('--dry-run', 'check every client and report, without writing anything'),
  ).action(async (file: string, o: Opts & { format?: ImportFormat; dryRun?: boolean }) => {
    try {
      const doc = readImportFile(file);
      const r = await withClients(o, (c) => c.importClients(doc, { dryRun: o.dryRun === true, format: o.format }));
      print(o, r, () => importSummary(r));
      if (r.imported.length === 0 && r.skipped.length > 0) process.exitCode = 1;
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(clients.command('export').description('print every client as JSON for clients import (no secrets, no hashes)')).action(async (o: Opts) => {
    try {
      const doc = await withClients(o, (c) => c.exportClients());
      process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    } catch (e) {
      fail(e, o.json);
    }
  });

  // SPEC §4 (issue 10): every client command can also go through a running server's admin API.
  for (const sub of clients.commands) withRemoteOptions(sub);
  return clients;
}
