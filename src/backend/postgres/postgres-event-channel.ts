import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { JsonObject } from '../../core/records.js';
import type { EventChannel } from '../event-channel.js';
import type { PostgresLocation } from './postgres-connection.js';

type Listener = (message: JsonObject) => void;

/** NOTIFY's payload limit is 8000 bytes; a larger message is dropped. */
const MAX_PAYLOAD = 7900;
/** After a lost listening connection (a server restart), how long before connecting again. */
const RECONNECT_MS = 1000;

/** The store's channel name: one per schema (identifiers stop at 63 bytes). */
export function channelName(schema: string): string {
  const name = `softlogic_${schema}`;
  return name.length <= 63 ? name : `softlogic_${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/**
 * LISTEN/NOTIFY on the store's channel. Publishing goes through the pool, one NOTIFY at a time
 * (so subscribers get them in publishing order: notifications are delivered in commit order);
 * listening holds one connection of its own, opened on the first subscribe and opened again
 * after it is lost. Every message carries this channel's origin, so its own come back to nobody.
 */
export class PostgresEventChannel implements EventChannel {
  private readonly origin = randomBytes(8).toString('hex');
  private readonly name: string;
  private sending: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly where: PostgresLocation,
  ) {
    this.name = channelName(where.schema);
  }

  publish(message: JsonObject): void {
    if (this.closed) return;
    const payload = JSON.stringify({ o: this.origin, m: message });
    if (Buffer.byteLength(payload) > MAX_PAYLOAD) return;
    this.sending = this.sending.then(
      () => this.pool.query('SELECT pg_notify($1, $2)', [this.name, payload]).then(() => undefined),
    ).catch(() => undefined);
  }

  async subscribe(listener: Listener): Promise<() => void> {
    this.listeners.add(listener);
    await this.listen();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopListening();
    };
  }

  private listen(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.where.connectionString, application_name: 'softlogic-events' });
      client.on('notification', (n) => {
        if (n.channel !== this.name || !n.payload) return;
        let parsed: { o?: string; m?: JsonObject };
        try {
          parsed = JSON.parse(n.payload) as { o?: string; m?: JsonObject };
        } catch {
          return;
        }
        if (parsed.o === this.origin || !parsed.m) return;
        for (const l of this.listeners) l(parsed.m);
      });
      const lost = () => {
        if (this.client !== client) return;
        this.client = null;
        client.end().catch(() => undefined);
        if (!this.closed && this.listeners.size > 0) this.retry = setTimeout(() => void this.listen().catch(() => this.lostAgain()), RECONNECT_MS);
      };
      client.on('error', lost);
      client.on('end', lost);
      try {
        await client.connect();
        await client.query(`LISTEN "${this.name}"`);
      } catch (err) {
        client.end().catch(() => undefined);
        throw err;
      }
      if (this.closed || this.listeners.size === 0) {
        await client.end().catch(() => undefined);
        return;
      }
      this.client = client;
    })().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private lostAgain(): void {
    if (!this.closed && this.listeners.size > 0) this.retry = setTimeout(() => void this.listen().catch(() => this.lostAgain()), RECONNECT_MS);
  }

  private stopListening(): void {
    clearTimeout(this.retry);
    const client = this.client;
    this.client = null;
    client?.end().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.sending;
    this.closed = true;
    this.listeners.clear();
    this.stopListening();
    await this.connecting?.catch(() => undefined);
  }
}
