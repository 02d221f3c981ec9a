import { closeSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SoftlogicError } from '../core/errors.js';
import { isValidContextName, isValidId } from '../core/names.js';
import type { AuditEntry } from './audit-trail.js';
import { ContainerWriter, invalid, openContainer, readExact, readMembers, type OpenedContainer } from './backup-container.js';
import type { ContextCounts, StoreStats } from './maintenance.js';
import { decodeVersionLine, encodeVersionLine, type PortableContext, type PortableFile, type PortableSnapshot, type PortableVersion } from './portable.js';
import type { StoredWorkflow } from './workflow-table.js';

/**
 * The portable backup: a PortableSnapshot (portable.ts) in the .slbak container
 * (backup-container.ts: every member checksummed, a manifest, an end marker), readable by every
 * backend. Its members, all under portable/:
 *
 *   contexts.json                 the contexts (parent, description, created_at, purged records, vector settings)
 *   records/<context>/NNNNNN.jsonl  every version in change order, one JSON line each
 *                                 {"kind","id","version","op","workflow_id","deleted","json":{record}}, in pieces of ~32 MB
 *   workflows.jsonl               every workflow row
 *   staged/<workflow>/NNNNNN.jsonl  the staged items of unfinished workflows, one JSON text a line
 *   files/<context>/<name>        the context's files (vectors NPZ, vector index and its sidecars)
 *   audit/NNNNNN.jsonl            the audit trail, oldest first
 *
 * The manifest (`layout: "portable"`) carries the counts per context and kind that a restore
 * checks the new store against, as the embedded backup's does.
 */
export const PORTABLE_LAYOUT = 'portable';
const PIECE_BYTES = 32 * 1024 * 1024;

export interface PortableManifest {
  format: 'softlogic-backup';
  version: 1;
  layout: typeof PORTABLE_LAYOUT;
  created_at: string;
  source_backend: string;
  source: string;
  contexts: ContextCounts[];
  workflows: Record<string, number>;
}

/** 'portable', or 'embedded' for the embedded store's own layout (store.json, knowledge.sqlite, logs). */
export function backupLayout(file: string): 'portable' | 'embedded' {
  const c = openContainer(file);
  closeSync(c.fd);
  return c.manifest.layout === PORTABLE_LAYOUT ? 'portable' : 'embedded';
}

/** Lines written in pieces of about PIECE_BYTES, each piece one member. */
class PieceWriter {
  private lines: string[] = [];
  private bytes = 0;
  private piece = 0;

  constructor(
    private readonly writer: ContainerWriter,
    private readonly prefix: string,
  ) {}

  add(line: string): void {
    this.lines.push(line);
    this.bytes += line.length + 1;
    if (this.bytes >= PIECE_BYTES) this.flush();
  }

  flush(): void {
    if (this.lines.length === 0) return;
    this.writer.addBuffer(`${this.prefix}/${String(++this.piece).padStart(6, '0')}.jsonl`, Buffer.from(this.lines.join('\n') + '\n'));
    this.lines = [];
    this.bytes = 0;
  }
}

/** Counts of active and deleted records per kind, from the last version of each record. */
function countVersions(context: PortableContext, versions: Map<string, boolean>, total: number): ContextCounts {
  const counts: ContextCounts = { name: context.name, parent: context.parent, applied_seq: total, applied_off: 0, analogies: { active: 0, deleted: 0 }, entities: {} };
  for (const [key, deleted] of versions) {
    const kind = key.slice(0, key.indexOf('\u0000'));
    const slot = kind === 'analogy' ? counts.analogies : (counts.entities[kind] ??= { active: 0, deleted: 0 });
    if (deleted) slot.deleted += 1;
    else slot.active += 1;
  }
  return counts;
}

export function workflowCounts(workflows: readonly StoredWorkflow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of workflows) out[w.status] = (out[w.status] ?? 0) + 1;
  return out;
}

export interface PortableWriteResult {
  file: string;
  bytes: number;
  members: number;
  contexts: ContextCounts[];
  workflows: Record<string, number>;
}

/**
 * Writes `snapshot` to `out` (refused when it exists): to `out.partial-<pid>` first, renamed into
 * place once complete and fsync'd, so a killed backup leaves no file that looks whole.
 */
export async function writePortableBackup(snapshot: PortableSnapshot, out: string): Promise<PortableWriteResult> {
  const file = resolve(out);
  if (existsSync(file)) throw new SoftlogicError('INVALID_INPUT', `${file} already exists; choose another --out`, { path: file });
  mkdirSync(dirname(file), { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  const writer = new ContainerWriter(partial);
  try {
    writer.addBuffer('portable/contexts.json', Buffer.from(JSON.stringify(snapshot.contexts)));
    const contexts: ContextCounts[] = [];
    for (const context of snapshot.contexts) {
      const pieces = new PieceWriter(writer, `portable/records/${context.name}`);
      const last = new Map<string, boolean>();
      let total = 0;
      for await (const page of snapshot.versions(context.name)) {
        for (const v of page) {
          pieces.add(encodeVersionLine(v));
          last.set(`${v.kind}\u0000${v.id}`, v.deleted);
          total += 1;
        }
      }
      pieces.flush();
      contexts.push(countVersions(context, last, total));
    }
    writer.addBuffer('portable/workflows.jsonl', Buffer.from(snapshot.workflows.map((w) => JSON.stringify(w) + '\n').join('')));
    for (const w of snapshot.workflows) {
      const pieces = new PieceWriter(writer, `portable/staged/${w.workflow_id}`);
      for await (const page of snapshot.staged(w.workflow_id)) for (const json of page) pieces.add(json);
      pieces.flush();
    }
    for (const context of snapshot.contexts) {
      for (const f of await snapshot.files(context.name)) writer.addBuffer(`portable/files/${context.name}/${f.name}`, f.data);
    }
    const audit = new PieceWriter(writer, 'portable/audit');
    for await (const page of snapshot.audit()) for (const entry of page) audit.add(JSON.stringify(entry));
    audit.flush();
    const workflows = workflowCounts(snapshot.workflows);
    const manifest: PortableManifest = {
      format: 'softlogic-backup',
      version: 1,
      layout: PORTABLE_LAYOUT,
      created_at: new Date().toISOString(),
      source_backend: snapshot.backend,
      source: snapshot.source,
      contexts,
      workflows,
    };
    writer.finish(manifest as unknown as Record<string, unknown>);
    const members = writer.members.length + 1;
    renameSync(partial, file);
    return { file, bytes: statSync(file).size, members, contexts, workflows };
  } catch (err) {
    writer.abort();
    rmSync(partial, { force: true });
    throw err;
  }
}

function parseLine<T>(line: string, member: string): T {
  try {
    return JSON.parse(line) as T;
  } catch {
    throw invalid(`backup member ${member} holds a line that is not JSON`, { member });
  }
}

/** A portable backup opened for reading: every member's checksum was verified before it is handed out. */
export interface OpenedPortable {
  snapshot: PortableSnapshot;
  manifest: PortableManifest;
  bytes: number;
  members: number;
}

/**
 * Opens a portable backup: its framing and every member's SHA-256 are checked first (one pass
 * over the file), then the snapshot reads the members it is asked for. Names that become
 * contexts and workflow ids are checked as the embedded restore checks them.
 */
export function openPortableBackup(file: string): OpenedPortable {
  const c: OpenedContainer = openContainer(file);
  try {
    const manifest = c.manifest as unknown as PortableManifest & { members: Array<{ name: string; size: number }> };
    if (manifest.layout !== PORTABLE_LAYOUT) throw invalid(`${file} is not a portable backup`, { member: 'manifest.json' });
    const starts = new Map<string, { start: number; size: number }>();
    readMembers(c, () => undefined, (entry, start) => starts.set(entry.name, { start, size: entry.size }));
    const member = (name: string): Buffer => {
      const at = starts.get(name);
      if (!at) throw invalid(`backup lacks member ${name}`, { member: name });
      return readExact(c.fd, at.size, at.start);
    };
    const lines = function* (name: string): Generator<string> {
      const text = member(name).toString('utf8');
      for (const line of text.split('\n')) if (line.length > 0) yield line;
    };
    const pieces = (prefix: string): string[] => [...starts.keys()].filter((n) => n.startsWith(`${prefix}/`) && /\/\d{6}\.jsonl$/.test(n)).sort();
    const contexts = parseLine<PortableContext[]>(member('portable/contexts.json').toString('utf8'), 'portable/contexts.json');
    if (!Array.isArray(contexts)) throw invalid('portable/contexts.json lists no contexts', { member: 'portable/contexts.json' });
    for (const ctx of contexts) {
      if (!isValidContextName(ctx?.name) || (ctx.parent != null && !isValidContextName(ctx.parent))) {
        throw invalid(`portable/contexts.json names an invalid context ${JSON.stringify(ctx?.name)}`, { member: 'portable/contexts.json' });
      }
    }
    const workflows = [...lines('portable/workflows.jsonl')].map((l) => parseLine<StoredWorkflow>(l, 'portable/workflows.jsonl'));
    for (const w of workflows) {
      if (typeof w.workflow_id !== 'string' || !isValidId(w.workflow_id) || !isValidContextName(w.context)) {
        throw invalid(`portable/workflows.jsonl names an invalid workflow ${JSON.stringify(w.workflow_id)}`, { member: 'portable/workflows.jsonl' });
      }
    }
    const snapshot: PortableSnapshot = {
      backend: 'backup',
      source: resolve(file),
      contexts,
      workflows,
      async *versions(context) {
        for (const name of pieces(`portable/records/${context}`)) {
          yield [...lines(name)].map((l) => {
            let v: PortableVersion | null;
            try {
              v = decodeVersionLine(l);
            } catch {
              v = null;
            }
            if (!v) throw invalid(`backup member ${name} holds a line that is not a version`, { member: name });
            return v;
          });
        }
      },
      async *staged(workflowId) {
        for (const name of pieces(`portable/staged/${workflowId}`)) yield [...lines(name)];
      },
      async files(context) {
        const prefix = `portable/files/${context}/`;
        const out: PortableFile[] = [];
        for (const name of starts.keys()) if (name.startsWith(prefix)) out.push({ name: name.slice(prefix.length), data: member(name) });
        return out;
      },
      async *audit() {
        for (const name of pieces('portable/audit')) yield [...lines(name)].map((l) => parseLine<AuditEntry>(l, name));
      },
      async close() {
        closeSync(c.fd);
      },
    };
    return { snapshot, manifest, bytes: c.size, members: manifest.members.length + 1 };
  } catch (err) {
    closeSync(c.fd);
    throw err;
  }
}

/**
 * The restored store's counts against what the backup promised (per context: active and deleted
 * analogies and entities of each kind); BACKUP_INVALID naming the first difference.
 */
export function assertRestoredCounts(expected: readonly ContextCounts[], stats: StoreStats): void {
  const key = (name: string, analogies: { active: number; deleted: number }, entities: Record<string, { active: number; deleted: number }>) =>
    JSON.stringify([name, analogies, Object.entries(entities).filter(([, n]) => n.active + n.deleted > 0).sort()]);
  const restored = new Map(stats.contexts.map((c) => [c.context, key(c.context, c.analogies, c.entities)]));
  for (const c of expected) {
    const want = key(c.name, c.analogies, c.entities);
    const got = restored.get(c.name);
    if (got !== want) throw invalid(`restored store does not match the backup: context '${c.name}' restored as ${got ?? 'missing'}, the backup says ${want}`, { context: c.name });
  }
}
