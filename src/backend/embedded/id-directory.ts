import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { idHash } from '../../core/id-hash.js';
import { timeMs } from '../../core/analogy-columns.js';
import { isoTime } from '../../core/staged-put.js';
import { BlockCache, SegmentMap } from './log-segments.js';
import { contextRowCount, perTierSql, TieredById, tiersOf } from './analogy-tiers.js';

/**
 * Answers, for the chunk encoder of an import (prepare-worker.ts), whether an id the input gave
 * is new or already has a current version, without a B-tree probe per line:
 * - ids this import wrote are remembered in memory, compactly (ImportIds: a later line with the
 *   same id in the file is their next version, in file order, even before their chunk is
 *   committed);
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

/**
 * Where the id of an item of this import lies in the staged file, for the exact comparison a
 * hash match needs: `pos` the file offset of its bytes (plain ASCII, the id rules), or `text`
 * when the item was decoded by JSON.parse (its id not at a known place).
 */
export type StagedIdPlace = { pos: number; text: null } | { pos: -1; text: string };

/** Reads `len` bytes of the staged file at `pos` as text (the id or created_at of an earlier item). */
export type StagedIdReader = (pos: number, len: number) => string;

/**
 * A created_at text (ASCII, the ISO pattern) that the staged file holds at `pos`, `len` bytes:
 * kept as that place, and read back only if the id comes again. The original system's
 * created_at (microseconds, an offset) is not the ISO text of its milliseconds: as text it cost
 * a string and a Map entry per id, most of the encoder thread's extra time on such a file.
 */
export interface StagedText {
  pos: number;
  len: number;
}

/** Slots are allocated in pages: growth copies nothing and leaves at most one page unused. */
const PAGE_BITS = 16;
const PAGE = 1 << PAGE_BITS;
const MASK = PAGE - 1;

/**
 * The columns of PAGE slots (ids this import wrote): 39 bytes a slot. The hash is kept as its
 * low 32 bits (a match is confirmed by the id's text anyway; the table's position uses only low
 * bits), the seq as its distance from the import's first one; `created` holds the created_at's
 * milliseconds, or (createdLens > 0) where its text lies in the staged file (StagedText).
 */
class SlotPage {
  readonly hashes = new Int32Array(PAGE);
  readonly offs = new Float64Array(PAGE);
  readonly seqs = new Uint32Array(PAGE);
  readonly created = new Float64Array(PAGE);
  readonly idPos = new Float64Array(PAGE);
  readonly versions = new Int32Array(PAGE);
  readonly idLens = new Uint16Array(PAGE);
  readonly createdLens = new Uint8Array(PAGE);
}

/**
 * The ids this import wrote, in typed arrays (about 46 bytes per id with the table: 39 in the
 * slot, 4 per table entry at most 3/4 full; a Map of the id texts and created_at strings took
 * about 165, the slots' first form 62): an open-addressing table of slots keyed by the ids'
 * hashes (idHash), and per slot the hash, the current version's columns and where the id lies
 * in the staged file. At 5M ids, the memory this holds is most of the encoder thread's. A hash match is confirmed by reading the earlier item's id back from the
 * staged file (an id repeated in the file, or two ids sharing a hash); a miss, the common case
 * of a fresh import, reads nothing.
 */
export class ImportIds {
  private readonly pages: SlotPage[] = [];
  private count = 0;
  /** slot + 1 per table entry, 0 empty; at most 3/4 full */
  private table = new Int32Array(1 << 12);
  /** ids decoded by JSON.parse, by slot */
  private readonly decoded = new Map<number, string>();
  /** created_at texts that Date.parse and toISOString do not give back as written and the staged file does not hold at a known place, by slot */
  private readonly createdTexts = new Map<number, string>();

  /**
   * `firstSeq`: no seq given to set() is below it (the log's seq when the import began); seqs
   * are kept as their distance from it, in 32 bits.
   */
  constructor(
    private readonly readStaged: StagedIdReader,
    private readonly firstSeq = 0,
  ) {}

  /** The id's slot, or -1. */
  find(id: string, h: number): number {
    const mask = this.table.length - 1;
    for (let e = h & mask; ; e = (e + 1) & mask) {
      const slot = this.table[e] - 1;
      if (slot < 0) return -1;
      const page = this.pages[slot >>> PAGE_BITS];
      if (page.hashes[slot & MASK] === (h | 0) && this.idOf(page, slot, id.length) === id) return slot;
    }
  }

  private idOf(page: SlotPage, slot: number, len: number): string | null {
    const text = this.decoded.get(slot);
    if (text !== undefined) return text;
    if (page.idLens[slot & MASK] !== len) return null;
    return this.readStaged(page.idPos[slot & MASK], len);
  }

  add(h: number, id: string, place: StagedIdPlace): number {
    const slot = this.count++;
    if ((slot & MASK) === 0) this.pages.push(new SlotPage());
    const page = this.pages[slot >>> PAGE_BITS];
    const at = slot & MASK;
    page.hashes[at] = h | 0;
    page.idPos[at] = place.pos;
    page.idLens[at] = id.length;
    if (place.text !== null) this.decoded.set(slot, place.text);
    if (this.count * 4 > this.table.length * 3) this.grow();
    else this.place(h, slot);
    return slot;
  }

  private place(h: number, slot: number): void {
    const mask = this.table.length - 1;
    let e = h & mask;
    while (this.table[e] !== 0) e = (e + 1) & mask;
    this.table[e] = slot + 1;
  }

  /** Doubles the table and places every slot again (the last one added included). */
  private grow(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let slot = 0; slot < this.count; slot++) this.place(this.pages[slot >>> PAGE_BITS].hashes[slot & MASK], slot);
  }

  /** The memory its slots and table take (the id and created_at texts of the rare Map entries aside). */
  bytes(): number {
    let total = this.table.byteLength;
    for (const page of this.pages) for (const column of Object.values(page) as ArrayBufferView[]) total += column.byteLength;
    return total;
  }

  /** The id's current version: a line of this import, so the row to replace is that line's own. */
  get(slot: number): KnownVersion & { seq: number } {
    const page = this.pages[slot >>> PAGE_BITS];
    const at = slot & MASK;
    const len = page.createdLens[at];
    const created = this.createdTexts.get(slot) ?? (len > 0 ? this.readStaged(page.created[at], len) : isoTime(page.created[at]));
    const seq = this.firstSeq + page.seqs[at];
    return { off: page.offs[at], version: page.versions[at], created, replaces: -seq, seq };
  }

  /** The id's line `seq`, at log offset `off`, is now its current version. */
  set(slot: number, seq: number, off: number, version: number, created: string | StagedText): void {
    const page = this.pages[slot >>> PAGE_BITS];
    const at = slot & MASK;
    const distance = seq - this.firstSeq;
    if (!(distance >= 0 && distance <= 0xffffffff)) throw new Error(`seq ${seq} is out of the import's range from ${this.firstSeq}`);
    page.offs[at] = off;
    page.versions[at] = version;
    page.seqs[at] = distance;
    if (typeof created !== 'string' && created.len > 0 && created.len <= 0xff) {
      page.created[at] = created.pos;
      page.createdLens[at] = created.len;
      this.createdTexts.delete(slot);
      return;
    }
    const text = typeof created === 'string' ? created : this.readStaged(created.pos, created.len);
    const ms = timeMs(text);
    page.created[at] = ms;
    page.createdLens[at] = 0;
    // Kept as text only when the time does not give it back (another ISO form, e.g. no milliseconds).
    if (Number.isFinite(ms) && isoTime(ms) === text) this.createdTexts.delete(slot);
    else this.createdTexts.set(slot, text);
  }
}

export class IdDirectory {
  private readonly mine: ImportIds;
  private readonly older: OlderIds | null;
  /** the last id find() looked up, its hash and slot: remember() of the same id reuses them */
  private lastId = '';
  private lastHash = 0;
  private lastSlot = -1;

  /**
   * `existing`: where to look up ids older than the import (null: the context had none);
   * `readId`: reads an earlier item's id back from the staged file.
   */
  constructor(existing: ExistingContext | null, readId: StagedIdReader, firstSeq = 0) {
    this.older = existing ? new OlderIds(existing) : null;
    this.mine = new ImportIds(readId, firstSeq);
  }

  /**
   * The id's current version, null if it has none, or undefined when it cannot be decided here
   * (its current version is deleted: the item path handles that).
   */
  find(id: string): (KnownVersion & { seq: number }) | null | undefined {
    const h = idHash(id);
    const slot = this.mine.find(id, h);
    this.lastId = id;
    this.lastHash = h;
    this.lastSlot = slot;
    if (slot >= 0) return this.mine.get(slot);
    if (!this.older) return null;
    const row = this.older.find(id, h);
    if (!row) return row;
    return { ...row, seq: 0 };
  }

  /**
   * The id's line (seq, at `off`) is now its current version; `place`: where this item's id lies
   * in the staged file.
   */
  remember(id: string, place: StagedIdPlace, seq: number, off: number, version: number, created: string | StagedText): void {
    const known = id === this.lastId;
    const h = known ? this.lastHash : idHash(id);
    let slot = known ? this.lastSlot : this.mine.find(id, h);
    if (slot < 0) slot = this.mine.add(h, id, place);
    this.lastId = '';
    this.mine.set(slot, seq, off, version, created);
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

/** The values sorted, given ascending runs (one per tier; one run: returned as it is). */
export function mergeRuns(values: Float64Array): Float64Array {
  const starts = [0];
  for (let i = 1; i < values.length; i++) if (values[i] < values[i - 1]) starts.push(i);
  if (starts.length === 1) return values;
  let runs = starts.map((start, k) => values.subarray(start, k + 1 < starts.length ? starts[k + 1] : values.length));
  while (runs.length > 1) {
    const next: Float64Array[] = [];
    for (let k = 0; k < runs.length; k += 2) next.push(k + 1 < runs.length ? mergeTwo(runs[k], runs[k + 1]) : runs[k]);
    runs = next;
  }
  return runs[0];
}

function mergeTwo(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < a.length && j < b.length) out[o++] = a[i] <= b[j] ? a[i++] : b[j++];
  out.set(a.subarray(i), o);
  out.set(b.subarray(j), o + a.length - i);
  return out;
}

/** Hashes per block of SortedHashes: a block is 256 bytes, four cache lines read in order. */
const BLOCK = 32;

/**
 * Whether a sorted array of hashes holds a value, in two levels: a binary search over every
 * BLOCK-th hash (5M hashes: 1.25 MB, mostly in the CPU's caches), then a scan of one block. A
 * binary search over the whole array (40 MB at 5M) missed the cache at most of its ~23 steps:
 * the encoder's checks of 1M ids took 3.75 s against 1.27 s into an empty store.
 */
export class SortedHashes {
  private readonly firsts: Float64Array;

  constructor(private readonly sorted: Float64Array) {
    this.firsts = new Float64Array(Math.ceil(sorted.length / BLOCK));
    for (let b = 0; b < this.firsts.length; b++) this.firsts[b] = sorted[b * BLOCK];
  }

  has(h: number): boolean {
    const firsts = this.firsts;
    if (firsts.length === 0 || h < firsts[0]) return false;
    // The last block whose first hash is <= h: any h in the array is in it.
    let lo = 0;
    let hi = firsts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (firsts[mid] <= h) lo = mid;
      else hi = mid - 1;
    }
    const a = this.sorted;
    const end = Math.min(lo * BLOCK + BLOCK, a.length);
    for (let i = lo * BLOCK; i < end; i++) if (a[i] >= h) return a[i] === h;
    return false;
  }
}

/**
 * The id hashes of the context's rows, a sorted run for the rows of no tier and one per tier
 * (each read in the order of its partial id index); call in a transaction (one snapshot).
 */
function contextIdHashes(db: Database.Database, ctx: number): Float64Array {
  const tiers = tiersOf(db, ctx);
  const hashes = new Float64Array(contextRowCount(db, ctx, tiers));
  let n = 0;
  for (const h of db.prepare(perTierSql('idh', tiers, 'ctx = @ctx')).pluck().iterate({ ctx }) as Iterable<number>) hashes[n++] = h;
  return hashes.subarray(0, n);
}

/** Ids of the context older than the import: a sorted hash filter, SQLite rows and log lines. */
class OlderIds {
  private readonly db: Database.Database;
  private readonly hashes: SortedHashes;
  private readonly byId: TieredById<OlderRow>;
  private readonly fd: number;
  private readonly segments: SegmentMap;
  private readonly blocks = new BlockCache();
  private line = Buffer.alloc(64 * 1024);

  constructor(private readonly where: ExistingContext) {
    this.db = new Database(where.dbPath, { readonly: true, fileMustExist: true, timeout: 15_000 });
    this.hashes = new SortedHashes(mergeRuns(this.db.transaction(() => contextIdHashes(this.db, where.ctx))()));
    this.byId = new TieredById(this.db, 'key, off, len, version, deleted_at');
    this.fd = openSync(where.logPath, 'r');
    this.segments = SegmentMap.scan(this.fd);
  }

  /** `h`: the id's idHash. */
  find(id: string, h: number): KnownVersion | null | undefined {
    if (!this.hashes.has(h)) return null;
    const row = this.byId.get(this.where.ctx, h, id);
    if (!row) return null;
    if (row.deleted_at !== null) return undefined;
    return { off: row.off, version: row.version, created: this.createdAt(row), replaces: row.key };
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
