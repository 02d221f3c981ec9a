import { SoftlogicError } from './errors.js';

/**
 * Incoming rows from which an import bulk loads (drops the query indexes, or writes a tier, and
 * builds them at its end); below it maintaining them row by row costs less. Both backends use it.
 */
export const BULK_LOAD_MIN_ROWS = 100_000;

/**
 * The bulk-load threshold: $SOFTLOGIC_BULK_LOAD_MIN_ROWS or BULK_LOAD_MIN_ROWS. Tests lower it to
 * exercise bulk loads (and tiers) at tens of thousands of rows instead of hundreds of thousands;
 * read at each import's decision, so a test process can set it before its imports.
 */
export function bulkLoadMinRows(): number {
  const raw = process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS;
  if (raw === undefined || raw === '') return BULK_LOAD_MIN_ROWS;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new SoftlogicError('INVALID_INPUT', `SOFTLOGIC_BULK_LOAD_MIN_ROWS must be a positive integer number of rows, got '${raw}'`, { field: 'SOFTLOGIC_BULK_LOAD_MIN_ROWS' });
  return n;
}
