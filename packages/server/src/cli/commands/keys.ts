import { Command, Option } from 'commander';
import { actor, fail, intArg, print, table, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';
import type { SigningAlg } from '../../keys/jws.js';

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString());

export function keysCommand(): Command {
  const keys = new Command('keys').description('manage signing keys');
  withStoreOptions(keys.command('list').description('list signing keys and their state (next / current / retired)')).action(async (o: StoreOptions) => {
    try {
      const list = await withRuntime(o, async (s) =>
        s.keyring.list().map((k) => ({
          kid: k.kid,
          alg: k.alg,
          state: k.state,
          created_at: iso(k.created_at),
          publish_at: iso(k.publish_at),
          activate_at: iso(k.activate_at),
          retired_at: iso(k.retired_at),
          expires_at: iso(k.expires_at),
        })),
      );
      print(o, list, () => table(list, ['kid', 'alg', 'state', 'activate_at', 'retired_at', 'expires_at']));
    } catch (e) {
      fail(e, o.json);
    }
  });
  withStoreOptions(
    keys
      .command('rotate')
      .description('publish a new signing key now; it signs after the pre-publication interval')
      .addOption(new Option('--alg <alg>', 'algorithm of the new key').choices(['ES256', 'EdDSA', 'RS256', 'PS256']))
      .option('--prepublish <seconds>', 'seconds to publish before signing (default: keyPrePublish setting)', intArg('--prepublish', 0, 31_536_000, 'seconds')),
  ).action(async (o: StoreOptions & { alg?: SigningAlg; prepublish?: number }) => {
    try {
      const k = await withRuntime(o, async (s) => {
        const rec = await s.keyring.rotate({ alg: o.alg, prePublishSeconds: o.prepublish });
        await s.store.addAudit({ at: Date.now(), actor: actor(), action: 'key.rotate', target: rec.kid, before: null, after: { kid: rec.kid, alg: rec.alg, activate_at: rec.activate_at } });
        return { kid: rec.kid, alg: rec.alg, publish_at: iso(rec.publish_at), activate_at: iso(rec.activate_at) };
      });
      print(o, k, () => `new key ${k.kid} (${k.alg}) published now, signs from ${k.activate_at}`);
    } catch (e) {
      fail(e, o.json);
    }
  });
  return keys;
}
