import { defineConfig } from 'vite';

// Built into dist/ and served by the latchkey server at `/` (packages/server/src/console).
// No inline scripts or styles: the server sends a strict Content-Security-Policy.
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
