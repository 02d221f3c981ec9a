import Database from 'better-sqlite3';
import { isValidContextName, isValidId } from '../../core/names.js';
import { invalid } from '../backup-container.js';

/**
 * A backup is data from outside: every name in it that becomes a path (context names in the
 * manifest and in the index, workflow ids) is checked before restore builds any path from it,
 * so a crafted backup cannot create or name files outside the restored store.
 */
export function assertManifestNames(contexts: unknown): void {
  if (!Array.isArray(contexts)) throw invalid('manifest.json lists no contexts', { member: 'manifest.json' });
  for (const c of contexts as Array<{ name?: unknown; parent?: unknown } | null>) {
    const name = c?.name;
    if (!isValidContextName(name)) throw invalid(`manifest.json names an invalid context ${describe(name)}`, { member: 'manifest.json', field: 'contexts.name' });
    if (c?.parent != null && !isValidContextName(c.parent)) throw invalid(`manifest.json gives context '${name}' an invalid parent ${describe(c.parent)}`, { member: 'manifest.json', field: 'contexts.parent' });
  }
}

/** The restored index names the same kind of things: its contexts and workflows are checked too. */
export function assertIndexNames(sqlitePath: string): void {
  let db: Database.Database;
  try {
    db = new Database(sqlitePath, { readonly: true, fileMustExist: true });
  } catch {
    throw invalid('knowledge.sqlite in the backup cannot be opened', { member: 'knowledge.sqlite' });
  }
  try {
    let contexts: Array<{ name: unknown; parent: unknown }>;
    let workflows: Array<{ workflow_id: unknown; context: unknown }>;
    try {
      contexts = db.prepare('SELECT name, parent FROM contexts').all() as typeof contexts;
      workflows = db.prepare('SELECT workflow_id, context FROM workflows').all() as typeof workflows;
    } catch {
      throw invalid('knowledge.sqlite in the backup is not a softlogic index', { member: 'knowledge.sqlite' });
    }
    for (const c of contexts) {
      if (!isValidContextName(c.name) || (c.parent != null && !isValidContextName(c.parent))) {
        throw invalid(`knowledge.sqlite in the backup names an invalid context ${describe(c.name)}`, { member: 'knowledge.sqlite', field: 'contexts.name' });
      }
    }
    for (const w of workflows) {
      if (typeof w.workflow_id !== 'string' || !isValidId(w.workflow_id) || (w.context != null && !isValidContextName(w.context))) {
        throw invalid(`knowledge.sqlite in the backup names an invalid workflow ${describe(w.workflow_id)}`, { member: 'knowledge.sqlite', field: 'workflows.workflow_id' });
      }
    }
  } finally {
    db.close();
  }
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
