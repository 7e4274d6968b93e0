import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { actor, fail, kv, print, table, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';
import { OAuthError } from '../../shared/errors.js';
import { ClientService } from '../../management/clients.service.js';
import { localClientOps, remoteClientOps, type ClientOps } from '../../admin/remote-clients.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
};

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
    .option('--scope <scopes>', 'allowed scopes, space-separated')
    .option('--default-scope <scopes>', 'scopes granted when a request names none (default: all allowed)')
    .option('--audience <url>', 'allowed audience / RFC 8707 resource (repeatable; the first is the default)', collect)
    .option('--jwks-file <file>', 'JSON Web Key Set with the client public keys (private_key_jwt, self_signed_tls_client_auth)')
    .option('--jwks-uri <url>', 'URL of the client JWKS')
    .option('--token-ttl <seconds>', 'access token lifetime', int('--token-ttl'))
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
  if (o.jwksFile !== undefined) {
    try {
      m.jwks = JSON.parse(readFileSync(o.jwksFile, 'utf8'));
    } catch (e) {
      throw new Error(`--jwks-file: ${(e as Error).message}`);
    }
  }
  if (o.jwksUri !== undefined) m.jwks_uri = o.jwksUri;
  if (o.tokenTtl !== undefined) m.access_token_ttl = o.tokenTtl;
  if (o.tokenFormat !== undefined) m.access_token_format = o.tokenFormat;
  if (o.tlsSubjectDn !== undefined) m.tls_client_auth_subject_dn = o.tlsSubjectDn;
  if (o.tlsSanDns !== undefined) m.tls_client_auth_san_dns = o.tlsSanDns;
  if (o.dpopBound) m.dpop_bound_access_tokens = true;
  if (o.federatedIssuer !== undefined || o.federatedSubject !== undefined || o.federatedClaim !== undefined) {
    if (o.federatedIssuer === undefined || o.federatedSubject === undefined) throw new Error('--federated-issuer and --federated-subject go together');
    const claims: Record<string, string> = {};
    for (const c of o.federatedClaim ?? []) {
      const i = c.indexOf('=');
      if (i <= 0) throw new Error(`--federated-claim ${c}: expected KEY=VALUE`);
      claims[c.slice(0, i)] = c.slice(i + 1);
    }
    m.federated_identity = { issuer: o.federatedIssuer, subject: o.federatedSubject, ...(Object.keys(claims).length ? { claims } : {}) };
    // A federated client has no secret: the method follows from the flags unless another was asked for.
    if (o.authMethod === undefined || o.authMethod === 'client_secret_basic') m.token_endpoint_auth_method = 'federated_jwt';
  }
  return m;
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
async function withClients<T>(o: Opts, fn: (c: ClientOps) => Promise<T>): Promise<T> {
  if (o.server) return fn(remoteClientOps({ server: o.server, token: o.adminToken, clientId: o.adminClientId, clientSecret: o.adminClientSecret }));
  return withRuntime(o, (s) => fn(localClientOps(new ClientService(s), actor())));
}

export function clientsCommand(): Command {
  const clients = new Command('clients').description('manage OAuth clients');

  withStoreOptions(
    metaOptions(
      clients
        .command('create')
        .description('register a client; prints its secret once')
        .requiredOption('--name <name>', 'client_name')
        .option('--client-id <id>', 'choose the client_id ([A-Za-z0-9._:-]{3,128}); default: generated')
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
      .option('--limit <n>', 'page size', int('--limit'), 100)
      .option('--offset <n>', 'page offset', int('--offset'), 0),
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
      .option('--grace <seconds>', 'how long the old secret keeps working', int('--grace'), 0)
      .option('--expires-in <seconds>', 'give the new secret an expiry', int('--expires-in')),
  ).action(async (id: string, o: Opts & { grace: number; expiresIn?: number }) => {
    try {
      const c = await withClients(o, (c) => c.rotateSecret(id, { graceSeconds: o.grace, expiresIn: o.expiresIn }));
      print(o, c, () => kv(c) + '\n\nThe new client secret is shown only once.');
    } catch (e) {
      fail(e, o.json);
    }
  });

  // SPEC §4 (issue 10): every client command can also go through a running server's admin API.
  for (const sub of clients.commands) withRemoteOptions(sub);
  return clients;
}
