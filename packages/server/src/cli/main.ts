#!/usr/bin/env node

import { Command, CommanderError } from 'commander';
import { startCommand } from './commands/start.js';
import { clientsCommand } from './commands/clients.js';
import { keysCommand } from './commands/keys.js';
import { auditCommand } from './commands/audit.js';
import { tokenCommand } from './commands/token.js';
import { registrationTokensCommand } from './commands/registration-tokens.js';
import { trustCommand } from './commands/trust.js';
import { adminCommand } from './commands/admin.js';
import { completionCommand } from './commands/completion.js';
import { assertStoreExists, configFrom, fail, type StoreOptions } from './shared.js';
import { UsageError } from './describe-error.js';

// The CLI's commands, listed here (the entry point is the one module that acts when imported).
const program = new Command('latchkey').description('Latchkey: OAuth 2.0 client-credentials authorization server').version('0.1.0');

for (const c of [
  startCommand(),
  clientsCommand(),
  keysCommand(),
  auditCommand(),
  tokenCommand(),
  registrationTokensCommand(),
  trustCommand(),
  adminCommand(),
  completionCommand(() => program),
]) {
  program.addCommand(c);
}

/** Commands that only read: they never create a store (a typo in --data-dir / --db names the path instead). */
const READ_COMMANDS = new Set(['clients list', 'clients show', 'clients export', 'keys list', 'audit', 'registration-tokens list', 'trust list', 'trust show']);

const pathOf = (c: Command): string => {
  const names: string[] = [];
  for (let x: Command | null = c; x && x !== program; x = x.parent) names.unshift(x.name());
  return names.join(' ');
};

program.hook('preAction', async (_root, action) => {
  const o = action.opts<StoreOptions & { server?: string }>();
  if (!READ_COMMANDS.has(pathOf(action)) || o.server) return;
  try {
    await assertStoreExists(configFrom(o, { logLevel: 'silent' }));
  } catch (e) {
    fail(e, o.json);
  }
});

// Usage errors (unknown option, bad value, missing argument) are one line and exit 2, on every command.
const overrideExits = (c: Command): void => {
  c.exitOverride();
  for (const sub of c.commands) overrideExits(sub);
};
overrideExits(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  // Every action catches its own errors: a plain Error arriving here came from an option's parser.
  fail(e instanceof Error && e.constructor === Error ? new UsageError(e.message) : e);
}
