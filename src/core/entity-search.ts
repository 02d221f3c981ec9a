/** Text an entity `search` matches: the record's name, description, gloss and disambiguation (lower-cased). */
export function entitySearchText(record: Record<string, unknown>): string | null {
  const parts = [record.name, record.description, record.disambiguation, record.definition, record.gloss].filter(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  return parts.length > 0 ? parts.join('\n').toLowerCase() : null;
}
