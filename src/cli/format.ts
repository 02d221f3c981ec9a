/**
 * Human text for command results, by the shape of the result rather than by command: a list
 * becomes a table, a single record `key: value` lines. Used only without --json.
 */

type Row = Record<string, unknown>;

/** Columns shown for the rows of well-known lists (by the key the list is under); others: the first scalar fields. */
const COLUMNS: Record<string, string[]> = {
  contexts: ['name', 'parent', 'description', 'created_at'],
  workflows: ['workflow_id', 'workflow_type', 'status', 'context', 'items_processed', 'items_total', 'updated_at'],
  resumed: ['workflow_id', 'workflow_type', 'status', 'context', 'items_processed', 'items_total'],
  analogies: ['id', 'source_domain', 'target_domain', 'quality_score', 'tags', 'version'],
  versions: ['version', 'op', 'updated_at', 'quality_score', 'deleted_at'],
  concepts: ['id', 'synset_id', 'description', 'version', 'deleted_at'],
  frames: ['name', 'core_elements', 'lexical_units', 'inherits_from', 'version'],
  instances: ['id', 'frame', 'bindings', 'version'],
  relations: ['id', 'relation_type', 'source_frame', 'target_frame'],
  clusters: ['id', 'size', 'members', 'coherence'],
  fields: ['name', 'coherence', 'core_concepts'],
  results: ['score', 'id', 'name'],
  synsets: ['id', 'lemmas', 'gloss'],
  backups: ['name', 'bytes', 'modified_at'],
  issues: ['check', 'context', 'message'],
};

const MAX_CELL = 48;

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One value as plain text: lists comma-joined, objects as k=v pairs, numbers trimmed. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(4)));
  if ((Array.isArray(value) && value.length === 0) || (isRow(value) && Object.keys(value).length === 0)) return '-';
  if (Array.isArray(value) && value.some(Array.isArray)) return value.map(cellText).join(' | ');
  if (Array.isArray(value)) return value.map((v) => (isRow(v) ? String(v.name ?? v.id ?? pairs(v)) : cellText(v))).join(', ');
  if (isRow(value)) return pairs(value);
  return String(value).replace(/\s+/g, ' ');
}

function pairs(row: Row): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${isRow(v) ? pairs(v) : cellText(v)}`)
    .join(' ');
}

function clip(text: string, width = MAX_CELL): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** The columns of a list: the known ones present in its rows, else its first seven fields. */
export function columnsFor(key: string | undefined, rows: Row[]): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  const known = (key !== undefined ? COLUMNS[key] : undefined)?.filter((c) => present.has(c));
  if (known && known.length >= Math.min(2, present.size)) return known;
  return Object.keys(rows[0] ?? {}).slice(0, 7);
}

/** A table with a header line, columns padded to their widest cell (the last one unclipped when `wideLast`). */
export function table(columns: string[], rows: Row[], wideLast = false): string {
  const cells = rows.map((r) => columns.map((c, i) => (wideLast && i === columns.length - 1 ? cellText(r[c]) : clip(cellText(r[c])))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]))).join('  ');
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n');
}

/** `key: value` lines; nested records indent their own lines, lists of records become tables. */
export function summary(record: Row, indent = ''): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (isRow(value) && Object.keys(value).length > 0 && Object.values(value).some(isRow)) {
      lines.push(`${indent}${key}:`, summary(value, `${indent}  `));
    } else if (Array.isArray(value) && value.length > 0 && value.every(isRow)) {
      lines.push(`${indent}${key}:`, indentText(table(columnsFor(key, value), value), `${indent}  `));
    } else {
      lines.push(`${indent}${key}: ${cellText(value)}`);
    }
  }
  return lines.join('\n');
}

function indentText(text: string, indent: string): string {
  return text
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

/**
 * Any result as human text: an object holding one list of records is its other fields as a
 * summary, then the list as a table ("(none)" when empty); a bare list is a table; a record is a
 * summary.
 */
export function humanText(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? '(none)' : value.every(isRow) ? table(columnsFor(undefined, value), value) : value.map(cellText).join('\n');
  if (!isRow(value)) return cellText(value);
  const lists = Object.entries(value).filter(([, v]) => Array.isArray(v) && (v.length === 0 || v.every(isRow)));
  if (lists.length !== 1) return summary(value);
  const [key, list] = lists[0] as [string, Row[]];
  const rest = Object.fromEntries(Object.entries(value).filter(([k]) => k !== key));
  const head = Object.keys(rest).length > 0 ? summary(rest) + '\n' : '';
  return head + (list.length === 0 ? `${key}: (none)` : table(columnsFor(key, list), list));
}

/** Streams: the columns of a record kind, for tables written row by row in constant memory. */
export const STREAM_COLUMNS: Record<string, string[]> = {
  analogy: COLUMNS.analogies,
  concept: COLUMNS.concepts,
  frame: COLUMNS.frames,
  frame_instance: COLUMNS.instances,
  frame_relation: COLUMNS.relations,
  cluster: COLUMNS.clusters,
  semantic_field: COLUMNS.fields,
};

/** A row of a streamed table: fixed-width cells (the rows are not all known in advance). */
export function streamRow(columns: string[], row: Row | null): string {
  const width = (c: string) => (c === 'id' || c.endsWith('_id') ? 36 : Math.max(c.length, 16));
  const values = columns.map((c) => (row === null ? c.toUpperCase() : clip(cellText(row[c]), width(c))));
  return values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(width(columns[i])))).join('  ');
}
