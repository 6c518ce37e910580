// The layer rules of docs/architecture.md as data, and a checker over the sources (read with
// TypeScript's own parser, so imports in comments or strings do not count).
//
// Two things are checked per file: what it imports (other layers by relative path, packages by
// name) and which platform globals it names. Code below the platforms must run in Node and in a
// browser alike, so it may name neither Node's globals (Buffer, process, __dirname, require) nor a
// browser's (document, window, navigator, ...); tsconfig.core.json's compile without Node types
// catches the first kind by type as well.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

import ts from 'typescript';

/** The portable layers and what each may import (docs/architecture.md, "Layers"). */
const PORTABLE: Readonly<Record<string, readonly string[]>> = {
  core: [],
  graph: ['core'],
  onnx: ['core', 'graph'],
  weights: ['core'],
  tokenizers: ['core'],
  prompts: ['core', 'tokenizers'],
  nn: ['core', 'graph'],
  models: ['core', 'graph', 'nn', 'weights'],
  schedulers: ['core'],
  image: ['core'],
  hub: ['core', 'weights'],
  pipelines: ['core', 'graph', 'onnx', 'weights', 'tokenizers', 'prompts', 'nn', 'models', 'schedulers', 'image'],
  train: ['core', 'graph', 'onnx', 'weights', 'tokenizers', 'prompts', 'nn', 'models', 'schedulers', 'image', 'pipelines'],
};
const PORTABLE_LAYERS = Object.keys(PORTABLE);

/** Packages portable code may use: pure JavaScript that runs in both places. */
const PORTABLE_PACKAGES = ['protobufjs', 'zod', '@huggingface/hub', 'fflate', 'ml-matrix'];

export interface LayerRule {
  readonly layers: readonly string[];
  readonly packages: readonly string[];
  /** Globals of one platform that this layer must not name. */
  readonly bannedGlobals: readonly string[];
}

const NODE_GLOBALS = ['Buffer', 'process', 'require', '__dirname', '__filename', 'global', 'setImmediate'];
const BROWSER_GLOBALS = ['window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'location', 'caches', 'self'];

export const RULES: Readonly<Record<string, LayerRule>> = {
  ...Object.fromEntries(Object.entries(PORTABLE).map(([layer, layers]) => [
    layer, { layers, packages: PORTABLE_PACKAGES, bannedGlobals: [...NODE_GLOBALS, ...BROWSER_GLOBALS] },
  ])),
  'index.ts': { layers: PORTABLE_LAYERS, packages: [], bannedGlobals: [...NODE_GLOBALS, ...BROWSER_GLOBALS] },
  'platform/node': { layers: PORTABLE_LAYERS, packages: [...PORTABLE_PACKAGES, 'node:*', 'onnxruntime-node', 'sharp'], bannedGlobals: BROWSER_GLOBALS },
  'platform/web': { layers: PORTABLE_LAYERS, packages: [...PORTABLE_PACKAGES, 'onnxruntime-web', 'fast-png'], bannedGlobals: NODE_GLOBALS },
  'node.ts': { layers: ['index.ts', 'platform/node'], packages: [], bannedGlobals: [] },
  'web.ts': { layers: ['index.ts', 'platform/web'], packages: [], bannedGlobals: NODE_GLOBALS },
  // The CLI is written on the public API only (the Node entry), plus node:* for its own terminal and files.
  cli: { layers: ['node.ts', 'server'], packages: ['node:*', 'commander'], bannedGlobals: BROWSER_GLOBALS },
  // The server (latentlab serve / worker) likewise, plus its HTTP framework and queue.
  server: { layers: ['node.ts'], packages: ['node:*', 'hono', 'hono/*', '@hono/node-server', 'bullmq', 'ioredis', 'zod'], bannedGlobals: BROWSER_GLOBALS },
};

/** The layer of a path relative to src/: its first folder (two for platform/x), or the entry file. */
export function layerOf(srcPath: string): string {
  const parts = srcPath.split('/');
  if (parts.length === 1) return parts[0];
  return parts[0] === 'platform' ? `platform/${parts[1]}` : parts[0];
}

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
}

function packageName(spec: string): string {
  if (spec.startsWith('node:')) return 'node:*';
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Is this identifier a reference to a global (rather than a property name, a key or a local's declaration)? */
function isReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p) ||
    ts.isMethodSignature(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p) || ts.isEnumMember(p)) && p.name === id) return false;
  if (ts.isBindingElement(p) && p.propertyName === id) return false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p) || ts.isQualifiedName(p)) return false;
  return true;
}

/** Names the file declares itself (locals, parameters, functions, imports): those shadow a global. */
function declaredNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if ((ts.isVariableDeclaration(node) || ts.isParameter(node) || ts.isBindingElement(node) || ts.isFunctionDeclaration(node) ||
      ts.isClassDeclaration(node) || ts.isImportSpecifier(node) || ts.isImportClause(node) || ts.isNamespaceImport(node)) &&
      node.name && ts.isIdentifier(node.name)) names.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** Checks one file's text against the rule of its layer. `srcPath` is relative to src/, with "/". */
export function checkSource(srcPath: string, text: string): Violation[] {
  const layer = layerOf(srcPath);
  const rule = RULES[layer];
  if (!rule) return [{ file: srcPath, line: 1, problem: `layer "${layer}" has no rule in test/helpers/layers.ts; add it (and to docs/architecture.md)` }];
  const source = ts.createSourceFile(srcPath, text, ts.ScriptTarget.ES2022, true);
  const out: Violation[] = [];
  const local = declaredNames(source);
  const at = (node: ts.Node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
  const visit = (node: ts.Node): void => {
    let spec: ts.Expression | undefined;
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) spec = node.moduleSpecifier;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) spec = node.arguments[0];
    if (spec && ts.isStringLiteral(spec)) {
      const name = spec.text;
      if (name.startsWith('.')) {
        const target = join(srcPath, '..', name).split(sep).join('/');
        const to = layerOf(target.replace(/\.js$/, '.ts'));
        if (target.startsWith('..')) out.push({ file: srcPath, line: at(node), problem: `imports ${name}, outside src/` });
        else if (to !== layer && !rule.layers.includes(to)) {
          out.push({ file: srcPath, line: at(node), problem: `${layer} imports ${name} (layer ${to}); ${layer} may import ${rule.layers.join(', ') || 'nothing'}` });
        }
      } else if (!rule.packages.includes(packageName(name))) {
        out.push({ file: srcPath, line: at(node), problem: `${layer} imports the package "${name}"; allowed here: ${rule.packages.join(', ') || 'none'}` });
      }
    }
    if (ts.isIdentifier(node) && rule.bannedGlobals.includes(node.text) && !local.has(node.text) && isReference(node)) {
      out.push({ file: srcPath, line: at(node), problem: `${layer} names the platform global "${node.text}"; reach the platform through a seam (core/io.ts, core/system.ts, graph/runtime.ts)` });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** Every violation under `srcDir`. */
export function checkTree(srcDir: string): Violation[] {
  return tsFiles(srcDir).flatMap((f) => checkSource(relative(srcDir, f).split(sep).join('/'), readFileSync(f, 'utf8')));
}
