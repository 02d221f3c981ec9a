/**
 * Whether a location names a PostgreSQL database: apart from postgres-connection.ts so that
 * choosing the backend (api/open-backend.ts) does not load the driver for a directory store.
 */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}
