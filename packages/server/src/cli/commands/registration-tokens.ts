import { Command, InvalidArgumentError } from 'commander';
import { createRegistrationToken, deleteRegistrationToken, publicRegistrationToken } from '../../management/registration-tokens.js';
import { actor, fail, kv, print, table, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';
import { scopeTokensValid } from './scope-arg.js';

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 60) throw new Error(`${name} must be an integer >= 60 (seconds)`);
  return n;
};

/** `latchkey registration-tokens create|list|delete`: RFC 7591 initial access tokens (SPEC §4). */
export function registrationTokensCommand(): Command {
  const cmd = new Command('registration-tokens').description('initial access tokens for RFC 7591 dynamic client registration');

  withStoreOptions(
    cmd
      .command('create')
      .description('create an initial access token; printed once, stored only as a hash')
      .option('--scope <scopes>', 'required cap: clients registered with it may hold only these scopes (never latchkey:*)')
      .option('--audience <url>', 'required cap (repeatable): an audience registered clients may name', (v: string, prev: string[] = []) => [...prev, v])
      .option('--max-clients <n>', 'how many clients it may register (default 100)', (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--max-clients must be an integer >= 1');
        return n;
      })
      .option('--ttl <seconds>', 'lifetime in seconds', positiveInt('--ttl'), 86_400),
  ).action(async (o: StoreOptions & { scope?: string; audience?: string[]; maxClients?: number; ttl: number }) => {
    try {
      // SPEC §7: both caps are mandatory.
      if (o.scope === undefined) throw new Error('--scope is required: the scopes clients registered with the token may hold');
      if (!scopeTokensValid(o.scope)) throw new Error('--scope must be space-separated scope tokens (RFC 6749 §3.3)');
      if (!o.audience?.length) throw new Error('--audience is required: an audience (resource URL) registered clients may name; repeat it for more');
      const input = { scope: o.scope, audience: o.audience, ttl: o.ttl, ...(o.maxClients !== undefined ? { max_clients: o.maxClients } : {}) };
      const flags: Record<string, string> = { scope: '--scope', audience: '--audience', max_clients: '--max-clients', ttl: '--ttl' };
      const t = await withRuntime(o, (s) => createRegistrationToken(s.store, input, actor())).catch((e: unknown) => {
        // Name the flag, not the API field.
        const field = (e as { field?: unknown }).field;
        if (typeof field === 'string') throw new Error(`${flags[field.split('.')[0]!] ?? field}: ${(e as Error & { description?: string }).description?.replace(/^[^:]*: /, '') ?? ''}`);
        throw e;
      });
      print(o, t, () => kv(t) + '\n\nThe token is shown only once. Give it to the service that registers itself at POST /oauth2/register.');
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(cmd.command('list').description('list initial access tokens (never the tokens themselves)')).action(async (o: StoreOptions) => {
    try {
      const list = await withRuntime(o, async (s) => (await s.store.listRegistrationTokens()).map((r) => publicRegistrationToken(r)));
      print(o, list, () => table(list, ['id', 'scope', 'audience', 'max_clients', 'clients_registered', 'expires_at', 'expired', 'created_by']));
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(cmd.command('delete').description('delete (revoke) an initial access token by id').argument('<id>')).action(async (id: string, o: StoreOptions) => {
    try {
      await withRuntime(o, (s) => deleteRegistrationToken(s.store, id, actor()));
      print(o, { id, deleted: true }, () => `registration token ${id} deleted`);
    } catch (e) {
      fail(e, o.json);
    }
  });
  return cmd;
}
