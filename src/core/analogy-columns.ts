import type { Analogy } from './records.js';

/**
 * The columns of an analogy's index row that come from the record itself:
 * [id, version, source_domain, target_domain, quality, created_at ms, workflow_id, tags JSON,
 * frame names JSON]. Computed here only, so a row written from a staged fresh put, from a
 * record, by replay or by rebuild is the same row.
 */
export type AnalogyIndexColumns = [string, number, string, string, number, number, string | null, string | null, string | null];

export type IndexedFields = Pick<Analogy, 'id' | 'version' | 'source_domain' | 'target_domain' | 'quality_score' | 'created_at' | 'workflow_id' | 'tags' | 'frame_mappings'>;

// Records staged or applied together mostly share their created_at: parse it once.
let lastTime = '';
let lastMs = NaN;
export function timeMs(iso: string): number {
  if (iso !== lastTime) {
    lastMs = Date.parse(iso);
    lastTime = iso;
  }
  return lastMs;
}

export function analogyIndexColumns(record: IndexedFields): AnalogyIndexColumns {
  const frames = Object.keys(record.frame_mappings);
  return [
    record.id,
    record.version,
    record.source_domain,
    record.target_domain,
    record.quality_score,
    timeMs(record.created_at),
    record.workflow_id ?? null,
    record.tags.length > 0 ? JSON.stringify(record.tags) : null,
    frames.length > 0 ? JSON.stringify(frames) : null,
  ];
}
