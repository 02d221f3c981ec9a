import { SoftlogicError } from '../../core/errors.js';
import { analogyFilter, fieldIssues, type AnalogyFilter } from '../../core/schemas.js';

export type ParsedFilter = ReturnType<typeof analogyFilter.parse>;

export function parseAnalogyFilter(filter: AnalogyFilter): ParsedFilter {
  const result = analogyFilter.safeParse(filter);
  if (!result.success) {
    const issues = fieldIssues(result.error);
    throw new SoftlogicError('INVALID_INPUT', `invalid filter: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`, { issues });
  }
  return result.data;
}

/**
 * A filter as one WHERE clause over the current analogy rows (alias `a`), the same criteria the
 * embedded store's filter applies: query, count, stream and delete-by-criteria share it.
 * `baseWhere` leaves the domain out, for the two one-sided searches a domain query merges.
 */
export interface FilterClause {
  where: string;
  baseWhere: string;
  params: unknown[];
  /** the parameter number of the domain in `params` (for `a.source_domain = $n`) */
  domainParam: string | null;
  parsed: ParsedFilter;
}

export function filterClause(ctx: number, filter: AnalogyFilter): FilterClause {
  const parsed = parseAnalogyFilter(filter);
  const params: unknown[] = [ctx];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const clauses = ['a.ctx = $1', 'a.current'];
  if (!parsed.include_deleted) clauses.push('a.deleted_at IS NULL');
  if (parsed.min_quality !== undefined) clauses.push(`a.quality >= ${p(parsed.min_quality)}`);
  if (parsed.max_quality !== undefined) clauses.push(`a.quality <= ${p(parsed.max_quality)}`);
  if (parsed.tag !== undefined) clauses.push(`${p(parsed.tag)} = ANY(a.tags)`);
  if (parsed.frame_type !== undefined) clauses.push(`${p(parsed.frame_type)} = ANY(a.frames)`);
  if (parsed.created_after !== undefined) clauses.push(`a.created_ms > ${p(Date.parse(parsed.created_after))}`);
  if (parsed.created_before !== undefined) clauses.push(`a.created_ms < ${p(Date.parse(parsed.created_before))}`);
  const baseWhere = clauses.join(' AND ');
  if (parsed.domain === undefined) return { where: baseWhere, baseWhere, params, domainParam: null, parsed };
  const d = p(parsed.domain);
  return { where: `${baseWhere} AND (a.source_domain = ${d} OR a.target_domain = ${d})`, baseWhere, params, domainParam: d, parsed };
}
