import { Command } from 'commander';
import { fail, intArg, print, table, withRuntime, withStoreOptions, type StoreOptions } from '../shared.js';
import { UsageError } from '../describe-error.js';

export function auditCommand(): Command {
  return withStoreOptions(
    new Command('audit')
      .description('show the audit log (newest first)')
      .option('--since <time>', 'ISO 8601 time or a duration like 1h, 30m, 7d')
      .option('--client <client_id>', 'only records about this client')
      .option('--limit <n>', 'maximum records', intArg('--limit', 1, 100_000), 100),
  ).action(async (o: StoreOptions & { since?: string; client?: string; limit: number }) => {
    try {
      let since: number | undefined;
      if (o.since) {
        const m = /^(\d+)([smhd])$/.exec(o.since);
        since = m ? Date.now() - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's'] : Date.parse(o.since);
        if (Number.isNaN(since)) throw new UsageError('--since must be an ISO 8601 time or a duration like 1h');
      }
      const recs = await withRuntime(o, (s) => s.store.queryAudit({ since, target: o.client, limit: o.limit }));
      const out = recs.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
      print(o, out, () => table(out, ['at', 'actor', 'action', 'target']));
    } catch (e) {
      fail(e, o.json);
    }
  });
}
