import type { AnalogyFilter } from '../../core/schemas.js';
import { qualityBucket } from './sqlite-schema.js';

/**
 * Turns filter criteria (validated by the caller: methods/analogies/filter.ts) into one SQL WHERE
 * clause over the analogies table, shared by query, count, stream and match so "matches" means
 * the same thing everywhere.
 */
export interface FilterSql {
  /** every criterion, the domain as (source OR target) */
  where: string;
  params: Array<string | number>;
  /** every criterion but the domain, for queries that search source and target separately */
  baseWhere: string;
  baseParams: Array<string | number>;
}

const DOMAIN_KEY = '(SELECT dom FROM domains WHERE name = ?)';

export function filterSql(ctx: number, f: AnalogyFilter): FilterSql {
  const clauses = ['a.ctx = ?'];
  const params: Array<string | number> = [ctx];
  if (!f.include_deleted) clauses.push('a.deleted_at IS NULL');
  // The bucket bounds let SQLite range-scan the (qb) indexes; the exact bounds then decide.
  if (f.min_quality !== undefined) {
    clauses.push('a.qb >= ? AND a.quality >= ?');
    params.push(qualityBucket(f.min_quality), f.min_quality);
  }
  if (f.max_quality !== undefined) {
    clauses.push('a.qb <= ? AND a.quality <= ?');
    params.push(qualityBucket(f.max_quality), f.max_quality);
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
  const baseWhere = clauses.join(' AND ');
  if (f.domain === undefined) return { where: baseWhere, params, baseWhere, baseParams: params };
  return {
    where: `${baseWhere} AND (a.src = ${DOMAIN_KEY} OR a.tgt = ${DOMAIN_KEY})`,
    params: [...params, f.domain, f.domain],
    baseWhere,
    baseParams: params,
  };
}
