import type { JsonObject } from '../../core/records.js';
import type { EventChannel } from '../event-channel.js';

type Listener = (message: JsonObject) => void;

/** The subscribers of each store directory in this process, by channel. */
const hubs = new Map<string, Map<EmbeddedEventChannel, Set<Listener>>>();

/** Between the stores of this process open on one directory (see EventChannel), delivered after the publisher's turn. */
export class EmbeddedEventChannel implements EventChannel {
  constructor(private readonly root: string) {}

  private hub(): Map<EmbeddedEventChannel, Set<Listener>> {
    let hub = hubs.get(this.root);
    if (!hub) hubs.set(this.root, (hub = new Map()));
    return hub;
  }

  publish(message: JsonObject): void {
    for (const [channel, listeners] of hubs.get(this.root) ?? []) {
      if (channel === this) continue;
      for (const listener of listeners) setImmediate(listener, message);
    }
  }

  async subscribe(listener: Listener): Promise<() => void> {
    const hub = this.hub();
    const own = hub.get(this) ?? new Set<Listener>();
    hub.set(this, own.add(listener));
    return () => {
      own.delete(listener);
      if (own.size === 0) this.forget();
    };
  }

  private forget(): void {
    const hub = hubs.get(this.root);
    hub?.delete(this);
    if (hub?.size === 0) hubs.delete(this.root);
  }

  async close(): Promise<void> {
    this.forget();
  }
}
