import { SoftlogicError } from '../../core/errors.js';
import { assertContextName } from '../../core/names.js';
import { analogyFilter, fieldIssues, type AnalogyFilter } from '../../core/schemas.js';

/**
 * Checks filter criteria before any backend sees them (backends trust what they are given), so
 * query, count, stream and delete-by-criteria refuse the same things with the same messages.
 */
export function parseFilter(filter: AnalogyFilter): AnalogyFilter {
  if (filter.context !== undefined) assertContextName(filter.context);
  const result = analogyFilter.safeParse(filter);
  if (!result.success) {
    const issues = fieldIssues(result.error);
    throw new SoftlogicError('INVALID_INPUT', `invalid filter: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`, { issues });
  }
  return result.data;
}
