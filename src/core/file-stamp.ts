/**
 * The time as it goes into a file or directory name: the ISO 8601 UTC time with `:` and `.` as
 * `-` (neither is allowed in a Windows file name), e.g. `2026-11-27T13-05-00-123Z`. Sorts as the
 * time does.
 */
export function fileTimestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-');
}
