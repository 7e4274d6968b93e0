#!/usr/bin/env node
// The `latchkey` command. Committed (not built) so that `npm ci` can link it before dist/ exists:
// npm links a workspace bin only if its target file is there at install time.
import { existsSync } from 'node:fs';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('latchkey: the server is not built (dist/cli/main.js is missing): run npm run build\n');
  process.exit(1);
}
await import(main.href);
