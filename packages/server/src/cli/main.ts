#!/usr/bin/env node

import { Command } from 'commander';
import { startCommand } from './commands/start.js';
import { clientsCommand } from './commands/clients.js';
import { keysCommand } from './commands/keys.js';
import { auditCommand } from './commands/audit.js';
import { extraCommands } from './registry.js';

const program = new Command('latchkey')
  .description('Latchkey: OAuth 2.0 client-credentials authorization server')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(startCommand());
program.addCommand(clientsCommand());
program.addCommand(keysCommand());
program.addCommand(auditCommand());
for (const c of await extraCommands()) program.addCommand(c);


await program.parseAsync(process.argv);
