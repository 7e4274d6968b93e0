// Import rules of issue #13 item 2 (`npm run check:deps`): no cycles, SDKs never import the server,
// jose-core imports only node builtins, and packages/server/src layers only point down.
/** @type {import('dependency-cruiser').IConfiguration} */

const S = '^packages/server/src/';
// Bottom → top. A layer may import its own and lower layers only. Peers on one rank may import each
// other (the no-circular rule still applies). `outbound/` (the one outbound-fetch policy) sits with limits/.
const LAYERS = [
  { name: 'shared', path: `${S}shared/` },
  { name: 'observability', path: `${S}observability/` }, // metrics: created by app/, passed down as a collaborator
  { name: 'config', path: `${S}config(-doc)?\\.ts$` },
  { name: 'store', path: `${S}store/` },
  { name: 'keys', path: `${S}keys/` },
  { name: 'limits', path: `${S}(limits|outbound)/` },
  { name: 'tokens', path: `${S}tokens/` },
  { name: 'client-auth', path: `${S}client-auth/` },
  { name: 'protocol', path: `${S}protocol/` },
  { name: 'features', path: `${S}(management|admin|console|ops)/` },
  { name: 'http', path: `${S}http/` },
  { name: 'app', path: `${S}(app/|cluster\\.ts$)` },
  { name: 'cli', path: `${S}(cli/|index\\.ts$)` },
];

const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name}`,
  comment: `${layer.name} may import only ${LAYERS.slice(0, i + 1).map((l) => l.name).join(', ')} (issue #13: layers only point down)`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(i + 1).map((l) => `(${l.path})`).join('|') },
}));

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'No import cycles in any package.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'sdk-not-server',
      comment: '@latchkey/client, @latchkey/resource and jose-core never import the server.',
      severity: 'error',
      from: { path: '^packages/(client|resource|jose-core)/' },
      to: { path: '^packages/server/' },
    },
    {
      name: 'jose-core-builtins-only',
      comment: 'jose-core imports nothing but node builtins (and its own files).',
      severity: 'error',
      from: { path: '^packages/jose-core/src/' },
      to: { pathNot: '^packages/jose-core/src/', dependencyTypesNot: ['core'] },
    },
    {
      name: 'protocol-tokens-no-web-framework',
      comment: 'protocol/ and tokens/ know no web framework: never http/ or fastify.',
      severity: 'error',
      from: { path: `${S}(protocol|tokens)/` },
      to: { path: [`${S}http/`, '(^|/)node_modules/(fastify|@fastify/[^/]+)/'] },
    },
    {
      name: 'store-not-protocol',
      comment: 'store/ never imports protocol/.',
      severity: 'error',
      from: { path: `${S}store/` },
      to: { path: `${S}protocol/` },
    },
    {
      name: 'shared-is-the-bottom',
      comment: 'shared/ (errors catalog, OAuth request/response types, form parsing, RFC 6750 helpers, token prefixes, scope constants) imports nothing else in src.',
      severity: 'error',
      from: { path: `${S}shared/` },
      to: { path: S, pathNot: `${S}shared/` },
    },
    ...layerRules,
    {
      name: 'not-to-unresolvable',
      comment: 'Every import resolves.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.depcruise.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
