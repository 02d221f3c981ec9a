import { SoftlogicError } from '../../core/errors.js';
import { assertContextName } from '../../core/names.js';
import { analogyFilter, fieldIssues, type AnalogyFilter } from '../../core/schemas.js';

/**
 * Turns validated filter criteria into one SQL WHERE clause over the analogies table, shared by
 * query, stream and delete-by-criteria so "matches" means the same thing everywhere.
 */
export interface FilterSql {
  where: string;
  params: Array<string | number>;
  parsed: ReturnType<typeof analogyFilter.parse>;
}

export function parseFilter(filter: AnalogyFilter): ReturnType<typeof analogyFilter.parse> {
  const result = analogyFilter.safeParse(filter);
  if (!result.success) {
    const issues = fieldIssues(result.error);
    throw new SoftlogicError('INVALID_INPUT', `invalid filter: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`, { issues });
  }
  return result.data;
}

export function filterSql(ctx: number, filter: AnalogyFilter): FilterSql {
  if (filter.context !== undefined) assertContextName(filter.context);
  const f = parseFilter(filter);
  const clauses = ['a.ctx = ?'];
  const params: Array<string | number> = [ctx];
  if (!f.include_deleted) clauses.push('a.deleted_at IS NULL');
  if (f.domain !== undefined) {
    clauses.push('(a.src = (SELECT dom FROM domains WHERE name = ?) OR a.tgt = (SELECT dom FROM domains WHERE name = ?))');
    params.push(f.domain, f.domain);
  }
  if (f.min_quality !== undefined) {
    clauses.push('a.quality >= ?');
    params.push(f.min_quality);
  }
  if (f.max_quality !== undefined) {
    clauses.push('a.quality <= ?');
    params.push(f.max_quality);
  }
  if (f.tag !== undefined) {
    clauses.push('a.tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(a.tags) WHERE value = ?)');
    params.push(f.tag);
  }
  if (f.frame_type !== undefined) {
    clauses.push('a.frames IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(a.frames) WHERE value = ?)');
    params.push(f.frame_type);
  }
  if (f.created_after !== undefined) {
    clauses.push('a.created_at > ?');
    params.push(Date.parse(f.created_after));
  }
  if (f.created_before !== undefined) {
    clauses.push('a.created_at < ?');
    params.push(Date.parse(f.created_before));
  }
  return { where: clauses.join(' AND '), params, parsed: f };
}
