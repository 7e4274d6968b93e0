#!/usr/bin/env node

import { Command } from 'commander';
import { startCommand } from './commands/start.js';
import { clientsCommand } from './commands/clients.js';
import { keysCommand } from './commands/keys.js';
import { auditCommand } from './commands/audit.js';
import { tokenCommand } from './commands/token.js';
import { registrationTokensCommand } from './commands/registration-tokens.js';
import { trustCommand } from './commands/trust.js';

// The CLI's commands, listed here (the entry point is the one module that acts when imported).
const program = new Command('latchkey')
  .description('Latchkey: OAuth 2.0 client-credentials authorization server')
  .version('0.1.0')
  .showHelpAfterError();

for (const c of [startCommand(), clientsCommand(), keysCommand(), auditCommand(), tokenCommand(), registrationTokensCommand(), trustCommand()]) program.addCommand(c);

await program.parseAsync(process.argv);
