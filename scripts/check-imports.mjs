#!/usr/bin/env node
/**
 * The layering rules of src/ (issue 14), checked on the import statements of src/**\/*.ts:
 *  (a) no cycle between folders: the top-level folders of src/, with src/backend split into the
 *      interface (backend/*.ts) and one node per backend folder (backend/embedded, backend/postgres);
 *  (b) only the file that chooses the backend (src/api/open-backend.ts) imports backend/embedded
 *      from the faces, the public API and the operations;
 *  (c) better-sqlite3 is imported under backend/embedded only.
 * Prints every offending edge (file -> file) and exits 1 when there is one.
 * Usage: node scripts/check-imports.mjs [--json]
 */
/* global console, process */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const BACKEND_CHOOSER = 'src/api/open-backend.ts';
const NO_EMBEDDED = ['methods', 'workflows', 'cli', 'service', 'reasoning', 'embeddings', 'api'];

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (p) => relative(root, p).split(sep).join('/');

/** The layering node of a file: its top-level folder; backend/*.ts and each backend folder apart. */
function nodeOf(file) {
  const parts = rel(file).split('/').slice(1); // without 'src'
  if (parts.length === 1) return 'index';
  if (parts[0] === 'backend') return parts.length === 2 ? 'backend' : `backend/${parts[1]}`;
  return parts[0];
}

// Static imports and re-exports (type-only included: they are dependencies of the design), side-effect
// imports and dynamic import() with a literal. Comments are blanked first so examples in them do not count.
const IMPORT = /(?:^|[;\s])(?:import|export)\s+(type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const out = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[2] ?? m[3];
    const line = code.slice(0, m.index).split('\n').length + (m[0].match(/^\s*/)[0].split('\n').length - 1);
    out.push({ spec, typeOnly: Boolean(m[1]), line });
  }
  return out;
}

const files = walk(src);
const edges = []; // { from, to, line, typeOnly } between files (relative paths)
const external = []; // { from, spec, line }
for (const file of files) {
  for (const imp of importsOf(readFileSync(file, 'utf8'))) {
    if (!imp.spec.startsWith('.')) {
      external.push({ from: rel(file), spec: imp.spec, line: imp.line });
      continue;
    }
    const target = resolve(dirname(file), imp.spec).replace(/\.js$/, '.ts');
    edges.push({ from: rel(file), to: rel(target), line: imp.line, typeOnly: imp.typeOnly });
  }
}

// (a) cycles between nodes: the strongly connected components of the node graph (Tarjan).
const node = (path) => nodeOf(join(root, path));
const graph = new Map();
for (const e of edges) {
  const a = node(e.from);
  const b = node(e.to);
  if (a === b) continue;
  if (!graph.has(a)) graph.set(a, new Set());
  graph.get(a).add(b);
}
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
let counter = 0;
function strongConnect(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of graph.get(v) ?? []) {
    if (!index.has(w)) {
      strongConnect(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) components.push(comp.sort());
  }
}
for (const v of graph.keys()) if (!index.has(v)) strongConnect(v);

const cycleEdges = [];
for (const comp of components) {
  const inComp = new Set(comp);
  for (const e of edges) {
    const a = node(e.from);
    const b = node(e.to);
    if (a !== b && inComp.has(a) && inComp.has(b)) cycleEdges.push({ ...e, cycle: comp.join(' <-> '), nodes: `${a} -> ${b}` });
  }
}

// (b) backend/embedded reached past the interface
const embeddedEdges = edges.filter((e) => {
  if (!e.to.startsWith('src/backend/embedded/')) return false;
  if (e.from === BACKEND_CHOOSER) return false;
  return NO_EMBEDDED.includes(node(e.from)) || node(e.from) === 'index';
});

// (c) better-sqlite3 outside the embedded backend
// core/sqlite-tables.ts reads the original system's concepts.sqlite: an input file, not a store.
const SQLITE_INPUT_READERS = new Set(['src/core/sqlite-tables.ts']);
const sqliteEdges = external.filter((e) => e.spec === 'better-sqlite3' && !e.from.startsWith('src/backend/embedded/') && !SQLITE_INPUT_READERS.has(e.from));

const result = { cycles: components, cycleEdges, embeddedEdges, sqliteEdges };
if (process.argv.includes('--json')) {
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} else {
  const fmt = (e) => `  ${e.from}:${e.line} -> ${e.to ?? e.spec}${e.typeOnly ? ' (type only)' : ''}`;
  if (components.length > 0) {
    console.log(`(a) cycles between folders: ${components.map((c) => c.join(' <-> ')).join('; ')}`);
    const byNodes = new Map();
    for (const e of cycleEdges) {
      if (!byNodes.has(e.nodes)) byNodes.set(e.nodes, []);
      byNodes.get(e.nodes).push(e);
    }
    for (const [nodes, list] of [...byNodes].sort()) {
      console.log(` ${nodes} (${list.length})`);
      for (const e of list) console.log(fmt(e));
    }
  }
  if (embeddedEdges.length > 0) {
    console.log(`(b) imports of src/backend/embedded outside ${BACKEND_CHOOSER} (${embeddedEdges.length}):`);
    for (const e of embeddedEdges) console.log(fmt(e));
  }
  if (sqliteEdges.length > 0) {
    console.log(`(c) better-sqlite3 outside src/backend/embedded (${sqliteEdges.length}):`);
    for (const e of sqliteEdges) console.log(fmt(e));
  }
  const total = cycleEdges.length + embeddedEdges.length + sqliteEdges.length;
  console.log(total === 0 ? 'import graph: ok' : `import graph: ${total} offending edge(s)`);
}
process.exitCode = cycleEdges.length + embeddedEdges.length + sqliteEdges.length > 0 ? 1 : 0;
