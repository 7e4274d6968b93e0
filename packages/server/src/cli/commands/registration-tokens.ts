import { Command } from 'commander';
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
      .option('--scope <scopes>', 'cap: clients registered with it may hold only these scopes (default: any except latchkey:*)')
      .option('--ttl <seconds>', 'lifetime in seconds', positiveInt('--ttl'), 86_400),
  ).action(async (o: StoreOptions & { scope?: string; ttl: number }) => {
    try {
      if (o.scope !== undefined && !scopeTokensValid(o.scope)) throw new Error('--scope must be space-separated scope tokens (RFC 6749 §3.3)');
      const scope = o.scope === undefined ? undefined : [...new Set(o.scope.split(' ').filter(Boolean))].join(' ');
      const t = await withRuntime(o, (s) => createRegistrationToken(s.store, { scope, ttlSeconds: o.ttl }, actor()));
      print(o, t, () => kv(t) + '\n\nThe token is shown only once. Give it to the service that registers itself at POST /oauth2/register.');
    } catch (e) {
      fail(e, o.json);
    }
  });

  withStoreOptions(cmd.command('list').description('list initial access tokens (never the tokens themselves)')).action(async (o: StoreOptions) => {
    try {
      const list = await withRuntime(o, async (s) => (await s.store.listRegistrationTokens()).map((r) => publicRegistrationToken(r)));
      print(o, list, () => table(list, ['id', 'scope', 'expires_at', 'expired', 'created_by']));
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
