import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { idHash } from '../../core/id-hash.js';
import { BlockCache, SegmentMap } from './log-segments.js';

/**
 * Answers, for the chunk encoder of an import (prepare-worker.ts), whether an id the input gave
 * is new or already has a current version, without a B-tree probe per line:
 * - ids this import wrote are remembered in memory (a later line with the same id in the file is
 *   their next version, in file order, even before their chunk is committed);
 * - ids that existed before the import: if the context had no analogies when the import began,
 *   there are none; otherwise the sorted hashes of its ids, read once from the id index, answer
 *   "surely new" by a binary search, and only a hit (an existing id, or a hash shared by two
 *   ids) reads its row from SQLite.
 * Valid while nobody else writes to the context: the importer commits each chunk only if the
 * log still stands where the encoder assumed (writePrepared), else it goes on item by item.
 */
export interface KnownVersion {
  /** log offset of the current version's line (the next version's `prev`) */
  off: number;
  version: number;
  created: string;
  /** the current row to delete: > 0 its key (a row older than the import), < 0 minus the seq of a line of this import */
  replaces: number;
}

export interface ExistingContext {
  dbPath: string;
  logPath: string;
  ctx: number;
}

export class IdDirectory {
  private readonly slots = new Map<string, number>();
  private offs = new Float64Array(1024);
  private versions = new Int32Array(1024);
  private seqs = new Float64Array(1024);
  private replacing = new Float64Array(1024);
  private readonly created: string[] = [];
  private readonly older: OlderIds | null;

  /** `existing`: where to look up ids older than the import (null: the context had none). */
  constructor(existing: ExistingContext | null) {
    this.older = existing ? new OlderIds(existing) : null;
  }

  /**
   * The id's current version, null if it has none, or undefined when it cannot be decided here
   * (its current version is deleted: the item path handles that).
   */
  find(id: string): (KnownVersion & { seq: number }) | null | undefined {
    const slot = this.slots.get(id);
    if (slot !== undefined) return { off: this.offs[slot], version: this.versions[slot], created: this.created[slot], replaces: this.replacing[slot], seq: this.seqs[slot] };
    if (!this.older) return null;
    const row = this.older.find(id);
    if (!row) return row;
    return { ...row, seq: 0 };
  }

  /** The id's line (seq, at `off`) is now its current version; `replaces` is the row that line's row replaces. */
  remember(id: string, seq: number, off: number, version: number, created: string, replaces: number): void {
    let slot = this.slots.get(id);
    if (slot === undefined) {
      slot = this.created.length;
      this.created.push(created);
      this.slots.set(id, slot);
      if (slot === this.offs.length) this.grow();
    } else {
      this.created[slot] = created;
    }
    this.offs[slot] = off;
    this.versions[slot] = version;
    this.seqs[slot] = seq;
    this.replacing[slot] = replaces;
  }

  private grow(): void {
    const size = this.offs.length * 2;
    const grown = <T extends Float64Array | Int32Array>(a: T, b: T): T => (b.set(a), b);
    this.offs = grown(this.offs, new Float64Array(size));
    this.versions = grown(this.versions, new Int32Array(size));
    this.seqs = grown(this.seqs, new Float64Array(size));
    this.replacing = grown(this.replacing, new Float64Array(size));
  }

  close(): void {
    this.older?.close();
  }
}

interface OlderRow {
  key: number;
  off: number;
  len: number;
  version: number;
  deleted_at: number | null;
}

const CREATED_KEY = Buffer.from(',"created_at":"');

/** Ids of the context older than the import: a sorted hash filter, SQLite rows and log lines. */
class OlderIds {
  private readonly db: Database.Database;
  private readonly hashes: Float64Array;
  private readonly byId: Database.Statement;
  private readonly fd: number;
  private readonly segments: SegmentMap;
  private readonly blocks = new BlockCache();
  private line = Buffer.alloc(64 * 1024);

  constructor(private readonly where: ExistingContext) {
    this.db = new Database(where.dbPath, { readonly: true, fileMustExist: true, timeout: 15_000 });
    // The id index (ctx, idh) gives the hashes in order: no sort needed.
    const read = this.db.prepare('SELECT idh FROM analogies WHERE ctx = ? ORDER BY idh').pluck();
    const count = this.db.prepare('SELECT count(*) FROM analogies WHERE ctx = ?').pluck().get(where.ctx) as number;
    let hashes = new Float64Array(count);
    let n = 0;
    for (const h of read.iterate(where.ctx) as Iterable<number>) {
      if (n === hashes.length) {
        const more = new Float64Array(hashes.length * 2 + 16);
        more.set(hashes);
        hashes = more;
      }
      hashes[n++] = h;
    }
    this.hashes = hashes.subarray(0, n);
    this.byId = this.db.prepare('SELECT key, off, len, version, deleted_at FROM analogies WHERE ctx = ? AND idh = ? AND id = ?');
    this.fd = openSync(where.logPath, 'r');
    this.segments = SegmentMap.scan(this.fd);
  }

  find(id: string): KnownVersion | null | undefined {
    const h = idHash(id);
    if (!this.mayHold(h)) return null;
    const row = this.byId.get(this.where.ctx, h, id) as OlderRow | undefined;
    if (!row) return null;
    if (row.deleted_at !== null) return undefined;
    return { off: row.off, version: row.version, created: this.createdAt(row), replaces: row.key };
  }

  private mayHold(h: number): boolean {
    const a = this.hashes;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (a[mid] < h) lo = mid + 1;
      else if (a[mid] > h) hi = mid - 1;
      else return true;
    }
    return false;
  }

  /** The created_at text of the record line at the row's offset (the last one on the line is the record's own). */
  private createdAt(row: OlderRow): string {
    let line: Buffer;
    const block = this.segments.find(row.off);
    if (block) {
      const raw = this.blocks.get(this.fd, block);
      line = raw.subarray(row.off - block.v0, row.off - block.v0 + row.len);
    } else {
      if (this.line.length < row.len) this.line = Buffer.alloc(row.len);
      const n = readSync(this.fd, this.line, 0, row.len, this.segments.toPhysical(row.off));
      line = this.line.subarray(0, n);
    }
    const at = line.lastIndexOf(CREATED_KEY);
    if (at < 0) throw new Error(`the line at offset ${row.off} holds no created_at`);
    const from = at + CREATED_KEY.length;
    return line.toString('utf8', from, line.indexOf(0x22, from));
  }

  close(): void {
    this.db.close();
    closeSync(this.fd);
  }
}
