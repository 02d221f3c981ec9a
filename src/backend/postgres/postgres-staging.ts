import type pg from 'pg';
import { StagedDigest } from '../../core/staged-digest.js';
import { encodeStagedLine } from '../../core/staged-lines.js';
import type { StagingWriter } from '../workflow-table.js';
import { copyField, copyRows } from './postgres-copy.js';
import { inTransaction, REPEATABLE } from './postgres-connection.js';

/** Staged items per COPY while staging, and per page when read back. */
export const STAGED_ROWS = 5000;

/**
 * Staged items written as rows of `staged_items`, a page at a time by COPY (the server parses a
 * COPY line far more cheaply than an INSERT's text[] parameter: the JSON's quotes need no
 * escaping there), in order, one page after the other. The digest is the embedded one, over the
 * same `<crc8> <json>\n` lines.
 */
export class RowStagingWriter implements StagingWriter {
  count = 0;
  private buffer: string[] = [];
  private written: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private readonly digest = new StagedDigest();
  private readonly head: string;

  constructor(
    private readonly pool: pg.Pool,
    private readonly workflowId: string,
  ) {
    this.head = `${copyField(workflowId)}\t`;
  }

  add(item: unknown): void {
    this.addJson(JSON.stringify(item));
  }

  addJson(json: string): void {
    this.digest.update(Buffer.from(encodeStagedLine(json)));
    this.push(json);
  }

  addEncoded(lines: Uint8Array, count: number): void {
    // `<crc8> <json>\n` lines (core/staged-lines.ts): the digest is over exactly these bytes.
    const bytes = Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
    this.digest.update(bytes);
    const text = bytes.toString('utf8');
    let at = 0;
    for (let i = 0; i < count; i++) {
      const end = text.indexOf('\n', at);
      this.push(text.slice(at + 9, end));
      at = end + 1;
    }
  }

  private push(json: string): void {
    this.buffer.push(`${this.head}${this.count}\t${copyField(json)}`);
    this.count += 1;
    if (this.buffer.length >= STAGED_ROWS) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    const first = this.count - rows.length;
    this.buffer = [];
    this.written = this.written.then(async () => {
      if (this.failed) return;
      try {
        // One page, one transaction: after a lost connection it is copied again, unless its
        // first row shows that the COMMIT whose answer was lost did take effect.
        await inTransaction(this.pool, (client) => copyRows(client, 'COPY staged_items(workflow_id, item, json)', rows), {
          committed: async () => (await this.pool.query('SELECT 1 FROM staged_items WHERE workflow_id = $1 AND item = $2', [this.workflowId, first])).rows.length > 0,
        });
      } catch (err) {
        this.failed = err;
      }
    });
  }

  async settled(): Promise<void> {
    await this.written;
    if (this.failed) throw this.failed;
  }

  async finish(): Promise<string> {
    this.flush();
    await this.settled();
    return this.digest.value();
  }

  async abort(): Promise<void> {
    this.buffer = [];
    await this.written;
    await this.pool.query(`${REPEATABLE}DELETE FROM staged_items WHERE workflow_id = $1`, [this.workflowId]);
  }
}
