import type pg from 'pg';

/**
 * Rows of `sql` in pages of `pageSize` through a cursor named `name`, in the transaction the
 * caller opened on `client` (its snapshot; a cursor lives only inside one). The cursor is closed
 * when the rows are done or the consumer stops early; after a failure the transaction is dead
 * and the caller's ROLLBACK ends it. `rowMode: 'array'` gives each row as its column values.
 */
export async function* cursorPages<T>(
  client: pg.ClientBase,
  sql: string,
  params: unknown[],
  options: { name: string; pageSize: number; rowMode?: 'array' },
): AsyncGenerator<T[]> {
  await client.query(`DECLARE ${options.name} NO SCROLL CURSOR FOR ${sql}`, params);
  let failed = false;
  try {
    for (;;) {
      const text = `FETCH ${options.pageSize} FROM ${options.name}`;
      const { rows } = options.rowMode === 'array' ? await client.query<unknown[]>({ text, rowMode: 'array' }) : await client.query(text);
      if (rows.length > 0) yield rows as T[];
      if (rows.length < options.pageSize) break;
    }
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    if (!failed) await client.query(`CLOSE ${options.name}`);
  }
}
