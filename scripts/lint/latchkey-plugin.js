// Local ESLint rules that keep issue #13's structure true (used by eslint.config.js):
//  - no-import-time-side-effects: a module's top level only defines things (no calls, assignments,
//    loops, `.push(...)`); registration happens in the composition root, not by importing a file.
//  - no-exported-mutable-collections: no exported array/object/Map/Set that other modules can add to
//    (the shape of the old `routeInstallers`, `metadataContributors`, `methodEnabled`, `authenticators`,
//    `binders` registries). Export a frozen/`as const`/Readonly value or a factory instead.

const DECLARATIONS = new Set([
  'ImportDeclaration', 'ExportAllDeclaration', 'FunctionDeclaration', 'ClassDeclaration', 'VariableDeclaration',
  'TSInterfaceDeclaration', 'TSTypeAliasDeclaration', 'TSEnumDeclaration', 'TSModuleDeclaration', 'TSDeclareFunction',
  'TSImportEqualsDeclaration', 'TSExportAssignment', 'EmptyStatement',
]);
const MUTATORS = new Set(['push', 'unshift', 'splice', 'set', 'add', 'delete', 'clear', 'assign', 'defineProperty', 'register', 'use']);
const COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array']);
const READONLY_TYPES = new Set(['Readonly', 'ReadonlyArray', 'ReadonlyMap', 'ReadonlySet']);

/** `x.push(…)`, `Object.assign(…)`, `registry.set(…)` — a call whose purpose is to change existing state. */
function isMutatingCall(node) {
  if (node?.type === 'AwaitExpression') node = node.argument;
  if (node?.type !== 'CallExpression') return false;
  const c = node.callee;
  return c.type === 'MemberExpression' && !c.computed && c.property.type === 'Identifier' && MUTATORS.has(c.property.name);
}

const noImportTimeSideEffects = {
  meta: {
    type: 'problem',
    docs: { description: 'A module body only defines things: no top-level calls, assignments, loops or mutations (issue #13).' },
    schema: [],
    messages: {
      statement: 'Top-level {{kind}} runs when the module is imported. Move it into a function that the composition root (or an entry point) calls.',
      mutation: 'Top-level initializer mutates existing state ({{what}}) when the module is imported. Build the value in a factory called by the composition root.',
    },
  },
  create(context) {
    return {
      Program(program) {
        for (const stmt of program.body) {
          let s = stmt;
          if (s.type === 'ExportNamedDeclaration' || s.type === 'ExportDefaultDeclaration') {
            if (!s.declaration) continue;
            s = s.declaration;
            if (stmt.type === 'ExportDefaultDeclaration' && !DECLARATIONS.has(s.type)) {
              if (isMutatingCall(s)) context.report({ node: stmt, messageId: 'mutation', data: { what: context.sourceCode.getText(s.callee ?? s).slice(0, 60) } });
              continue;
            }
          }
          if (s.type === 'ExpressionStatement' && typeof s.directive === 'string') continue; // 'use strict'
          if (s.type === 'VariableDeclaration') {
            for (const d of s.declarations) {
              if (d.init && isMutatingCall(d.init)) {
                const call = d.init.type === 'AwaitExpression' ? d.init.argument : d.init;
                context.report({ node: d, messageId: 'mutation', data: { what: context.sourceCode.getText(call.callee) } });
              }
            }
            continue;
          }
          if (DECLARATIONS.has(s.type)) continue;
          const kind = s.type === 'ExpressionStatement' ? (s.expression.type === 'CallExpression' || s.expression.type === 'AwaitExpression' ? 'call' : s.expression.type === 'AssignmentExpression' ? 'assignment' : 'expression') : s.type.replace(/Statement$/, '').toLowerCase() + ' statement';
          context.report({ node: s, messageId: 'statement', data: { kind } });
        }
      },
    };
  },
};

function isReadonlyType(typeAnnotation) {
  const t = typeAnnotation?.typeAnnotation;
  if (!t) return false;
  if (t.type === 'TSTypeOperator' && t.operator === 'readonly') return true;
  if (t.type === 'TSTypeReference' && t.typeName.type === 'Identifier' && READONLY_TYPES.has(t.typeName.name)) return true;
  return false;
}

/** The initializer is a collection other modules could add to, and nothing makes it read-only. */
function mutableCollection(declarator) {
  if (isReadonlyType(declarator.id.typeAnnotation)) return undefined;
  let init = declarator.init;
  while (init && (init.type === 'TSSatisfiesExpression' || init.type === 'TSNonNullExpression')) init = init.expression;
  if (!init) return undefined;
  if (init.type === 'TSAsExpression') {
    const t = init.typeAnnotation;
    if (t.type === 'TSTypeReference' && t.typeName.type === 'Identifier' && (t.typeName.name === 'const' || READONLY_TYPES.has(t.typeName.name))) return undefined;
    if (t.type === 'TSTypeOperator' && t.operator === 'readonly') return undefined;
    init = init.expression;
  }
  if (init.type === 'ArrayExpression') return 'array';
  if (init.type === 'ObjectExpression') return 'object';
  if (init.type === 'NewExpression' && init.callee.type === 'Identifier' && COLLECTIONS.has(init.callee.name)) return init.callee.name;
  return undefined;
}

const noExportedMutableCollections = {
  meta: {
    type: 'problem',
    docs: { description: 'No exported mutable module-level collections (registries) (issue #13).' },
    schema: [],
    messages: {
      collection: 'Exported mutable {{kind}} `{{name}}` is a module-global registry: any importer can add to it. Pass the list to the composition root, or export it frozen (`as const`, `Object.freeze`, a Readonly type).',
      binding: 'Exported `{{kind}}` binding `{{name}}` is module-global mutable state. Export a const (or a factory).',
    },
  },
  create(context) {
    const locals = new Map(); // top-level const name -> { declarator, kind }
    const reportDeclarator = (d, kind, name) => context.report({ node: d, messageId: 'collection', data: { kind, name } });
    return {
      Program(program) {
        for (const stmt of program.body) {
          if (stmt.type === 'VariableDeclaration' && stmt.kind === 'const') {
            for (const d of stmt.declarations) {
              const kind = d.id.type === 'Identifier' ? mutableCollection(d) : undefined;
              if (kind) locals.set(d.id.name, { d, kind });
            }
          }
        }
      },
      ExportNamedDeclaration(node) {
        if (node.parent.type !== 'Program') return;
        const decl = node.declaration;
        if (decl?.type === 'VariableDeclaration') {
          for (const d of decl.declarations) {
            const name = d.id.type === 'Identifier' ? d.id.name : context.sourceCode.getText(d.id);
            if (decl.kind !== 'const') context.report({ node: d, messageId: 'binding', data: { kind: decl.kind, name } });
            else {
              const kind = mutableCollection(d);
              if (kind) reportDeclarator(d, kind, name);
            }
          }
        }
        if (!node.source) {
          for (const spec of node.specifiers) {
            const local = spec.local.type === 'Identifier' ? locals.get(spec.local.name) : undefined;
            if (local) reportDeclarator(spec, local.kind, spec.local.name);
          }
        }
      },
    };
  },
};

export default {
  meta: { name: 'eslint-plugin-latchkey' },
  rules: {
    'no-import-time-side-effects': noImportTimeSideEffects,
    'no-exported-mutable-collections': noExportedMutableCollections,
  },
};
