import { resolve, sep } from 'node:path';
import { SoftlogicError } from './errors.js';

/**
 * The one way a path is built from data (a context name, a workflow id, a backup member name):
 * `root` joined with `parts`, refused unless it stays inside `root`. Names are validated first
 * (names.ts); this is the second line, so that a name which slipped past a check still cannot
 * reach outside the store. The error names the parts, not the absolute root (no server paths
 * in responses).
 */
export function insideDir(root: string, ...parts: string[]): string {
  const base = resolve(root);
  const path = resolve(base, ...parts);
  const inside = parts.length === 0 ? path === base : path.startsWith(base.endsWith(sep) ? base : base + sep);
  if (inside && parts.every((p) => !p.includes('\0'))) return path;
  const rel = parts.join('/');
  throw new SoftlogicError('INVALID_NAME', `path ${rel.length > 80 ? `of ${rel.length} characters` : JSON.stringify(rel)} leads outside its directory`, { path: rel.slice(0, 200) });
}
