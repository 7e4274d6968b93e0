import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { TrustedIssuerService } from '../../management/trusted-issuers.service.js';
import { OAuthError } from '../../shared/errors.js';
import { actor, fail, kv, print, table, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';

interface AddOptions extends StoreOptions {
  issuer?: string;
  jwksUri?: string;
  jwksFile?: string;
  bundleFile?: string;
  trustDomain?: string;
  kind?: 'oidc' | 'kubernetes' | 'spiffe' | 'github';
  maxAssertionLifetime?: number;
  singleUse?: boolean;
}

const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new Error('--max-assertion-lifetime must be an integer from 1 to 86400 (seconds)');
  return n;
};

function readJwks(path: string, flag: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new OAuthError('invalid_request', `${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new OAuthError('invalid_request', `${flag}: ${path} is not JSON (a JWK Set: kubectl get --raw /openid/v1/jwks, or a SPIFFE bundle)`);
  }
}

/**
 * `latchkey trust add|update|list|show|remove` (SPEC §9): the issuers whose platform tokens federated clients
 * present — a Kubernetes cluster, a SPIFFE trust domain, GitHub Actions, any OIDC issuer. Changes are
 * audited and reach every running node within the change-feed interval.
 */
export function trustCommand(): Command {
  const cmd = new Command('trust').description('trusted issuers of federated (secretless) clients: Kubernetes, SPIFFE, GitHub Actions, OIDC');

  withStoreOptions(
    cmd
      .command('add')
      .description('trust an issuer; keys from its OIDC discovery document unless --jwks-uri or a key file is given')
      .argument('<name>', 'a name for it ([A-Za-z0-9._-]{1,64}); clients refer to it with --federated-issuer')
      .option('--issuer <url>', 'the exact iss of its tokens (kind github: default https://token.actions.githubusercontent.com)')
      .addOption(new Option('--kind <kind>', 'what issues the tokens (default: spiffe with --trust-domain/--bundle-file, else oidc)').choices(['oidc', 'kubernetes', 'spiffe', 'github']))
      .option('--jwks-uri <url>', 'fetch keys from this URL (https; a SPIFFE bundle endpoint for --kind spiffe)')
      .option('--jwks-file <file>', 'keys from a file: a JWK Set (Kubernetes without discovery: kubectl get --raw /openid/v1/jwks)')
      .option('--trust-domain <spiffe-id>', 'kind spiffe: the trust domain, spiffe://example.org (same as --issuer)')
      .option('--bundle-file <file>', 'kind spiffe: a SPIFFE trust bundle (JWK Set with use "jwt-svid" keys)')
      .option('--max-assertion-lifetime <seconds>', 'longest accepted exp - iat (default 3600; Kubernetes projected tokens default to 1 h)', seconds)
      .option('--single-use', 'accept each token jti once (only for issuers that mint a token per request)'),
  ).action(async (name: string, o: AddOptions) => {
    try {
      if (o.jwksFile && o.bundleFile) throw new OAuthError('invalid_request', 'give --jwks-file or --bundle-file, not both');
      if (o.trustDomain && o.issuer && o.trustDomain !== o.issuer) throw new OAuthError('invalid_request', '--trust-domain and --issuer differ');
      const kind = o.kind ?? (o.trustDomain || o.bundleFile ? 'spiffe' : 'oidc');
      const file = o.jwksFile ?? o.bundleFile;
      const input: Record<string, unknown> = { name, kind };
      const issuer = o.issuer ?? o.trustDomain;
      if (issuer !== undefined) input.issuer = issuer;
      if (o.jwksUri !== undefined) input.jwks_uri = o.jwksUri;
      if (file !== undefined) input.jwks = readJwks(file, o.jwksFile ? '--jwks-file' : '--bundle-file');
      if (o.maxAssertionLifetime !== undefined) input.max_assertion_lifetime = o.maxAssertionLifetime;
      if (o.singleUse) input.single_use = true;
      const created = await withRuntime(o, (rt) => new TrustedIssuerService({ store: rt.store, outbound: rt.outbound.policy }).add(input, actor()));
      const { jwks: _jwks, ...shown } = created;
      print(o, created, () => `${kv(shown)}\n\nCreate its clients with: latchkey clients create --name NAME --federated-issuer ${name} --federated-subject SUB`);
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(
    cmd
      .command('update')
      .description("replace an issuer's keys or rules in place (e.g. after a key rotation); its clients stay attached, no gap")
      .argument('<name>', 'the trusted issuer to change')
      .option('--jwks-uri <url>', 'fetch keys from this URL from now on')
      .option('--jwks-file <file>', 'keys from this JWK Set file from now on')
      .option('--bundle-file <file>', 'kind spiffe: keys from this SPIFFE trust bundle from now on')
      .option('--discovery', "keys from the issuer's OIDC discovery document from now on (drops a key file or jwks_uri)")
      .option('--max-assertion-lifetime <seconds>', 'longest accepted exp - iat', seconds)
      .option('--single-use', 'accept each token jti once')
      .option('--no-single-use', 'accept a token jti more than once within its lifetime'),
  ).action(async (name: string, o: AddOptions & { discovery?: boolean }, c: Command) => {
    try {
      const sources = [o.jwksUri, o.jwksFile, o.bundleFile, o.discovery].filter((v) => v !== undefined);
      if (sources.length > 1) throw new OAuthError('invalid_request', 'give one of --jwks-uri, --jwks-file, --bundle-file, --discovery');
      const input: Record<string, unknown> = {};
      if (o.jwksUri !== undefined) input.jwks_uri = o.jwksUri;
      const file = o.jwksFile ?? o.bundleFile;
      if (file !== undefined) input.jwks = readJwks(file, o.jwksFile ? '--jwks-file' : '--bundle-file');
      if (o.discovery) Object.assign(input, { jwks: null, jwks_uri: null });
      if (o.maxAssertionLifetime !== undefined) input.max_assertion_lifetime = o.maxAssertionLifetime;
      // commander's --single-use / --no-single-use pair: only an explicit flag changes the setting.
      if (c.getOptionValueSource('singleUse') === 'cli') input.single_use = o.singleUse === true;
      if (Object.keys(input).length === 0) throw new OAuthError('invalid_request', 'nothing to change: give new keys (--jwks-uri, --jwks-file, --bundle-file, --discovery) or a rule');
      const updated = await withRuntime(o, (rt) => new TrustedIssuerService({ store: rt.store, outbound: rt.outbound.policy }).update(name, input, actor()));
      const { jwks: _jwks, ...shown } = updated;
      print(o, updated, () => kv(shown));
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(cmd.command('list').description('list trusted issuers')).action(async (o: StoreOptions) => {
    try {
      const list = await withRuntime(o, (rt) => new TrustedIssuerService({ store: rt.store, outbound: rt.outbound.policy }).list());
      print(o, list, () => table(list, ['name', 'kind', 'issuer', 'keys_from', 'max_assertion_lifetime', 'single_use']));
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(cmd.command('show').description('show a trusted issuer and how many clients it federates').argument('<name>')).action(async (name: string, o: StoreOptions) => {
    try {
      const t = await withRuntime(o, (rt) => new TrustedIssuerService({ store: rt.store, outbound: rt.outbound.policy }).get(name));
      if (!t) throw new OAuthError('not_found', `no trusted issuer named ${name}`);
      const { jwks, ...shown } = t;
      const kids = (jwks as { keys?: { kid?: unknown }[] } | undefined)?.keys?.map((k) => (typeof k.kid === 'string' ? k.kid : '(no kid)'));
      print(o, t, () => kv({ ...shown, ...(kids ? { key_ids: kids } : {}) }));
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(cmd.command('remove').description('stop trusting an issuer (its clients are refused on every node within 1 s)').argument('<name>')).action(async (name: string, o: StoreOptions) => {
    try {
      await withRuntime(o, (rt) => new TrustedIssuerService({ store: rt.store, outbound: rt.outbound.policy }).remove(name, actor()));
      print(o, { name, removed: true }, () => `trusted issuer ${name} removed`);
    } catch (e) {
      fail(e, o.json);
    }
  });
  return cmd;
}
