#!/usr/bin/env node
// Regenerates docs/configuration.md from the settings table in packages/server/src/config.ts.
// Run with `npm run docs:config` (node --import tsx: reads the TypeScript sources, no build needed).
// packages/server/test/config/config-doc.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { renderConfigDoc } from '../packages/server/src/config-doc.ts';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigDoc());
console.log('wrote docs/configuration.md');
