import type { JsonObject } from '../core/records.js';

/**
 * Messages between the processes that have one store open (service replicas): what one of them
 * does (a workflow's progress) reaches the others' clients. A message is small (under 7 KB of
 * JSON) and best effort: one that cannot be sent is dropped, never an error for the work that
 * published it. The messages of one channel reach each subscriber in the order they were published.
 *
 * Embedded: between the stores open on one directory in this process (a directory store is on
 * one machine; its processes do not share events). PostgreSQL: LISTEN/NOTIFY on a channel per
 * store (schema), between every process on the database.
 */
export interface EventChannel {
  /** Sends to every other subscriber of the store (never back to this channel's own). */
  publish(message: JsonObject): void;
  /** Receives the messages the other channels of the store publish; resolves once listening, with the function that stops it. */
  subscribe(listener: (message: JsonObject) => void): Promise<() => void>;
  /** Sends what was published and stops listening. */
  close(): Promise<void>;
}
