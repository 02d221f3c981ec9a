import { randomUUID } from 'node:crypto';
import { isValidId } from '../../core/names.js';
import { analogyInput } from '../../core/schemas.js';
import { validateAnalogy } from './analogy-record.js';

/**
 * The original Python system's analogy records (its log lines and SQLite rows) as records our
 * schema accepts: shared by `import --from-legacy` and `analogies import` of its line shape.
 */
const KNOWN = new Set(Object.keys(analogyInput.shape));

export type Row = Record<string, unknown>;

export function normaliseTime(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)$/.exec(v);
  return m ? `${m[1]}T${m[2]}Z` : v;
}

export function parseJsonColumn(v: unknown): unknown {
  if (typeof v !== 'string') return v ?? undefined;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

/** concept_mappings implied by the original's pair fields, when the record has none. */
function derivedMappings(legacy: Row): Record<string, string> | null {
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 512 ? v : null);
  const out: Record<string, string> = {};
  if (Array.isArray(legacy.source_pair) && Array.isArray(legacy.target_pair)) {
    legacy.source_pair.forEach((s, i) => {
      const a = str(s);
      const b = str((legacy.target_pair as unknown[])[i]);
      if (a && b) out[a] = b;
    });
  }
  const pairs: Array<[unknown, unknown]> = [
    [legacy.source_concept, legacy.target_concept],
    [legacy.source_a, legacy.target_a],
    [legacy.source_b, legacy.target_b],
  ];
  for (const [s, t] of pairs) {
    const a = str(s);
    const b = str(t);
    if (a && b) out[a] = b;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * One legacy analogy (log line and/or SQLite row) as a record the schema accepts, with every
 * field it could not place kept under metadata.legacy. For the common log lines, stage-legacy.ts
 * writes the same record from the line's bytes: a change here is a change there
 * (test/stage-legacy.test.ts compares the two).
 */
export function legacyAnalogyRecord(line: Row | null, sqliteRow: Row | null): Record<string, unknown> & { id: string } {
  const record: Row = {};
  const legacy: Row = {};
  if (line) {
    for (const [k, v] of Object.entries(line)) {
      if (k === 'type') continue;
      if (k === 'context') legacy.context = v;
      else if (KNOWN.has(k)) record[k] = v;
      else legacy[k] = v;
    }
  }
  if (sqliteRow) {
    const fill = (k: string, v: unknown) => {
      if (record[k] === undefined && !isEmptyValue(v)) record[k] = v;
    };
    fill('id', sqliteRow.id);
    fill('source_domain', sqliteRow.source_domain);
    fill('target_domain', sqliteRow.target_domain);
    // 0.0 is what the old code wrote when it had no quality: only a non-zero value is one, unless the row stands alone.
    if (record.quality_score === undefined && typeof sqliteRow.quality_score === 'number' && (sqliteRow.quality_score !== 0 || !line)) record.quality_score = sqliteRow.quality_score;
    fill('concept_mappings', parseJsonColumn(sqliteRow.concept_mappings));
    fill('frame_mappings', parseJsonColumn(sqliteRow.frame_mappings));
    fill('tags', parseJsonColumn(sqliteRow.tags));
    const meta = parseJsonColumn(sqliteRow.metadata);
    if (!isEmptyValue(meta)) {
      if (record.metadata === undefined) record.metadata = meta;
      else legacy.sqlite_metadata = meta;
    }
    fill('created_at', sqliteRow.created_at);
    fill('updated_at', sqliteRow.updated_at);
    fill('version', sqliteRow.version);
    fill('deleted_at', sqliteRow.deleted_at);
  }
  for (const k of ['created_at', 'updated_at', 'deleted_at']) if (record[k] !== undefined) record[k] = normaliseTime(record[k]);
  if (record.concept_mappings === undefined) {
    const derived = derivedMappings(legacy);
    if (derived) {
      record.concept_mappings = derived;
      legacy.concept_mappings_derived = true;
    }
  }
  if (record.id === undefined || typeof record.id !== 'string' || !isValidId(record.id)) {
    if (record.id !== undefined) legacy.original_id = record.id;
    else legacy.id_missing = true;
    record.id = randomUUID();
  }
  const defaults = () => {
    for (const k of ['source_domain', 'target_domain', 'quality_score']) {
      const v = record[k];
      if (v !== undefined && v !== null && v !== '' && typeof v !== (k === 'quality_score' ? 'number' : 'string')) {
        legacy.invalid = { ...((legacy.invalid as Row | undefined) ?? {}), [k]: v };
        delete record[k];
      }
    }
    if (typeof record.source_domain !== 'string' || record.source_domain.length === 0) {
      record.source_domain = 'unknown';
      legacy.source_domain_missing = true;
    }
    if (typeof record.target_domain !== 'string' || record.target_domain.length === 0) {
      record.target_domain = 'unknown';
      legacy.target_domain_missing = true;
    }
    if (record.quality_score === undefined || record.quality_score === null) {
      record.quality_score = 0;
      legacy.quality_missing = true;
    }
  };
  defaults();
  const metaIn = record.metadata;
  if (metaIn !== undefined && (typeof metaIn !== 'object' || metaIn === null || Array.isArray(metaIn))) {
    legacy.metadata = metaIn;
    delete record.metadata;
  }
  for (let attempt = 0; attempt < 6; attempt++) {
    const candidate: Row = { ...record, metadata: { ...((record.metadata as Row | undefined) ?? {}), ...(Object.keys(legacy).length > 0 ? { legacy } : {}) } };
    const result = validateAnalogy(candidate);
    if (result.ok) {
      const v = result.value as Row;
      v.workflow_id ??= null;
      v.deleted_at ??= null;
      return v as Record<string, unknown> & { id: string };
    }
    let moved = false;
    for (const issue of result.issues) {
      const top = issue.field.split('.')[0];
      if (top === 'metadata') {
        legacy.metadata = record.metadata;
        delete record.metadata;
        moved = true;
      } else if (top in record && top !== 'id') {
        const invalid = (legacy.invalid as Row | undefined) ?? {};
        invalid[top] = record[top];
        legacy.invalid = invalid;
        delete record[top];
        moved = true;
      }
    }
    defaults();
    if (!moved) break;
  }
  // Whatever is still refused: keep the raw input whole under metadata.legacy.raw.
  return {
    id: record.id as string,
    source_domain: 'unknown',
    target_domain: 'unknown',
    quality_score: 0,
    concept_mappings: {},
    frame_mappings: {},
    tags: [],
    metadata: { legacy: { raw: line ?? sqliteRow, quality_missing: true, unplaceable: true } },
    workflow_id: null,
    deleted_at: null,
  };
}
