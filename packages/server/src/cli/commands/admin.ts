import { Command, Option } from 'commander';
import { ClientService } from '../../management/clients.service.js';
import { OAuthError } from '../../shared/errors.js';
import { ADMIN_SCOPE, INTROSPECT_SCOPE } from '../../shared/scope.js';
import { actor, fail, kv, print, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';
import { UsageError } from '../describe-error.js';

interface ResetOpts extends StoreOptions {
  clientId?: string;
  issuer?: string;
}

/**
 * `latchkey admin reset` — recovering a lost admin (issue #17 item 4), run on the store like the other
 * store commands (so it needs database access, not the lost credentials):
 * - with `--client-id ID`: that admin client gets a new secret (every old one stops working at once)
 *   and is enabled if it was disabled;
 * - without: a new admin client is created (scope latchkey:admin latchkey:introspect, audience the
 *   issuer), e.g. when the old one was deleted or its id is lost too.
 * The secret is printed once; the reset is in the audit log (`admin.reset`).
 */
export function adminCommand(): Command {
  const admin = new Command('admin').description('the admin client: recover a lost one');
  withStoreOptions(
    admin
      .command('reset')
      .description('give an admin client a new secret (--client-id) or create a new admin client; prints the secret once')
      .option('--client-id <id>', 'the existing admin client to give a new secret (default: create a new admin client)')
      .addOption(new Option('--issuer <url>', 'issuer of the server(s) the admin client is for: its token audience (default: the issuer setting)').env('LATCHKEY_ISSUER')),
  ).action(async (o: ResetOpts) => {
    try {
      const out = await withRuntime(
        o,
        async (rt) => {
          const svc = new ClientService(rt);
          const who = actor();
          if (o.clientId !== undefined) {
            const c = await svc.get(o.clientId);
            if (!c) throw new OAuthError('not_found', `no client ${o.clientId} (latchkey clients list --search …; or run admin reset without --client-id to create a new admin)`);
            if (!String(c.scope).split(' ').includes(ADMIN_SCOPE)) throw new UsageError(`--client-id ${o.clientId}: not an admin client (its scope lacks ${ADMIN_SCOPE})`);
            if (c.disabled === true) await svc.setDisabled(o.clientId, false, who);
            const rotated = await svc.rotateSecret(o.clientId, who, { graceSeconds: 0 });
            await svc.audit(who, 'admin.reset', o.clientId, null, { client_id: o.clientId, new_secret: true, enabled: true });
            return { client_id: o.clientId, client_secret: rotated.client_secret as string, created: false };
          }
          const made = await svc.create(
            { client_name: `Latchkey admin (reset ${new Date().toISOString().slice(0, 10)})`, scope: `${ADMIN_SCOPE} ${INTROSPECT_SCOPE}`, audience: [rt.config.issuer], token_endpoint_auth_method: 'client_secret_basic' },
            who,
          );
          await svc.audit(who, 'admin.reset', made.client_id as string, null, { client_id: made.client_id, created: true });
          return { client_id: made.client_id as string, client_secret: made.client_secret as string, created: true };
        },
        o.issuer !== undefined ? { issuer: o.issuer } : {},
      );
      print(o, out, () => kv(out) + `\n\n${out.created ? 'A new admin client was created' : 'The admin client has a new secret; the old one no longer works'}. The secret is shown only once: store it now.`);
    } catch (e) {
      fail(e, o.json);
    }
  });
  return admin;
}
