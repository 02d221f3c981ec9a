/**
 * Maintenance of a whole store: backup, verify, compact, rebuild, stats and the leftovers of
 * killed runs. The reports are part of the CLI and HTTP contract (their JSON is printed as is), so
 * their types live here with the interface; a backend fills them in its own terms (the embedded
 * one reports damaged log lines and offsets, which a server database does not have: it leaves
 * those lists empty). Restoring a backup creates a store, so it is no method of an open one:
 * a backend folder exports a `RestoreBackup` for it.
 */

/**
 * The local directory, under the current one, of a store that has no directory of its own (a
 * server database): temporary files, an import's rejects, and backups by default (`backups/`),
 * as an embedded store keeps them in its directory.
 */
export const SERVER_WORK_DIR = 'softlogic-work';

export interface ContextCounts {
  name: string;
  parent: string | null;
  applied_seq: number;
  applied_off: number;
  analogies: { active: number; deleted: number };
  entities: Record<string, { active: number; deleted: number }>;
}

export interface BackupOptions {
  out?: string;
}

export interface BackupResult {
  file: string;
  bytes: number;
  seconds: number;
  members: number;
  contexts: ContextCounts[];
  workflows: Record<string, number>;
  attempts: number;
}

export interface RestoreOptions {
  /** replace an existing store (kept aside as DIR.old-<timestamp>) */
  force?: boolean;
  /** run the full `verify` (logs against index) even without --force (default: only with --force) */
  verify?: boolean;
}

export interface RestoreResult {
  store: string;
  backup: string;
  bytes: number;
  members: number;
  seconds: number;
  contexts: ContextCounts[];
  /** where the replaced store was put (only with --force over an existing store) */
  previous_store: string | null;
  verify: Pick<VerifyReport, 'valid' | 'issues'> | null;
}

export interface VerifyIssue {
  context?: string;
  check: 'sqlite_integrity' | 'sqlite_schema' | 'log_checksum' | 'log_structure' | 'torn_tail' | 'watermark' | 'count_mismatch' | 'content_mismatch' | 'row_pointer';
  message: string;
  offset?: number;
}

export interface ContextVerification {
  context: string;
  log_lines: number;
  active_in_log: number;
  active_in_index: number;
  content_hash_log: string;
  content_hash_index: string;
}

export interface VerifyReport {
  valid: boolean;
  issues: VerifyIssue[];
  contexts: ContextVerification[];
  /** files killed runs left (not issues: `softlogic doctor` removes them) */
  leftovers: Leftover[];
}

export interface CompactionReport {
  context: string;
  records_removed: number;
  active_records: number;
  lines_before: number;
  bytes_before: number;
  bytes_after: number;
}

export interface LineDamage {
  offset: number;
  /** the damaged line's own seq when it can still be read, else null */
  seq: number | null;
  /** the last seq of the good batches before it */
  after_seq: number;
  reason: string;
}

/** Everything from the start of the batch holding the first damaged line to the end of the log. */
export interface DamagedTail {
  /** where the cut starts: the end of the last good batch */
  offset: number;
  bytes: number;
  lines: number;
  /** lines whose checksum (or structure) fails */
  damaged_lines: number;
  /** record lines whose own checksum passes that go with the cut (their batch or later ones) */
  records_lost: number;
  /** the seqs of the cut record lines whose checksum passes */
  first_seq: number | null;
  last_seq: number | null;
  /** the first damaged line */
  damage: LineDamage;
}

/** A run of bytes of a log (physical offsets) that is taken out of it. */
export interface AsidePiece {
  offset: number;
  length: number;
  reason: string;
}

export interface AsideFile {
  /** relative to the store root */
  file: string;
  bytes: number;
}

/** What `rebuild --salvage` did to one context's log. */
export interface SalvageReport {
  context: string;
  /** record lines kept (every one whose checksum passes, but an uncommitted last batch) */
  kept_records: number;
  /** lines set aside because their checksum or structure fails */
  damaged_lines: number;
  /** of those, lines that look like records (start with {"seq":), and the ids still readable in them */
  damaged_records: number;
  lost_ids: string[];
  /** lines inside compressed blocks that failed as a whole */
  lines_in_damaged_blocks: number;
  /** record lines of a last batch that was never committed (a crash mid-append), set aside */
  uncommitted_records: number;
  /** batches whose commit line was damaged or missing, closed with a new commit line */
  batches_recommitted: number;
  bytes_set_aside: number;
  aside: AsideFile | null;
  pieces: AsidePiece[];
}

export interface RebuildOptions {
  /** cut each log from its first damaged line on (its bytes moved aside under salvaged/) */
  truncateDamagedTail?: boolean;
  /** rewrite damaged logs keeping every line whose checksum passes (salvage.ts) first */
  salvage?: boolean;
}

export interface CutTail extends DamagedTail {
  context: string;
  aside: AsideFile | null;
}

export interface LostWorkflow {
  workflow_id: string;
  context: string;
  items_processed: number;
}

export interface RebuildReport {
  /** per context: record lines replayed, batches, torn bytes; active records in the old index and the new */
  contexts: Array<{ context: string; records: number; batches: number; torn_bytes: number; active_before: number | null; active_after: number }>;
  /** what --truncate-damaged-tail cut */
  cut: CutTail[];
  /** what --salvage set aside */
  salvaged: SalvageReport[];
  /** workflows whose batches are in the logs but whose rows are gone with the old index */
  workflows_lost: LostWorkflow[];
  seconds: number;
}

export interface StoreStats {
  store: string;
  contexts: Array<{ context: string; parent: string | null; analogies: { active: number; deleted: number }; entities: Record<string, { active: number; deleted: number }>; log_bytes: number }>;
  workflows: Record<string, number>;
  files: Record<string, number>;
  total_bytes: number;
  /** files killed runs left (leftovers.ts): removed on open or by `softlogic doctor` once removable */
  leftovers: Leftover[];
}

/**
 * Files a killed run leaves behind: staged items of workflows that never started or are gone,
 * backup work directories and partial outputs, restore staging directories, logs of an
 * interrupted compaction or salvage, index files of an interrupted rebuild. Each is removable
 * once its owner (the pid in its name) is dead (a PostgreSQL restore's staging schema: once no
 * session holds its restore's lock), or, for staged files, once no live workflow
 * owns it and it has not been written to for STAGED_GRACE_MS (staging writes the file before
 * the workflow's row exists).
 */
export type LeftoverKind =
  | 'staged_orphan'
  | 'backup_work'
  | 'backup_partial'
  | 'restore_staging'
  | 'compacting_log'
  | 'salvage_log'
  | 'rebuild_index'
  | 'import_temp'
  | 'export_partial';

export interface Leftover {
  kind: LeftoverKind;
  /** relative to the store root (restore staging directories, and PostgreSQL's staging schemas, sit beside it: ../NAME) */
  path: string;
  bytes: number;
  owner_pid: number | null;
  /** whether it can go now (its owner is dead or it belongs to nothing live) */
  removable: boolean;
}

export interface Maintenance {
  /** One file holding a consistent snapshot of the store (safe while writers run). */
  backup(options?: BackupOptions): Promise<BackupResult>;
  /** Checks everything the store promises; problems are issues of the report, not errors. */
  verify(): Promise<VerifyReport>;
  /** Rewrites one context without deleted and superseded records. */
  compact(context: string): Promise<CompactionReport>;
  /** Rebuilds the index from the records of record (the backend goes on with the rebuilt one). */
  rebuild(options?: RebuildOptions): Promise<RebuildReport>;
  /** Counts per context, kind and status; bytes per file. */
  stats(): Promise<StoreStats>;
  /** What killed runs left, each with whether it can go now. */
  leftovers(): Promise<Leftover[]>;
  /** Removes the removable leftovers and returns them. */
  removeLeftovers(): Promise<Leftover[]>;
}

/** Restores a backup file into `location` (empty or absent, or replaced with `force`). */
export type RestoreBackup = (file: string, location: string, options?: RestoreOptions) => Promise<RestoreResult>;
