/**
 * A TCP proxy in front of the test PostgreSQL server, to make network faults on demand without
 * touching the server (other test processes share it): cut a connection at a chosen message
 * (after forwarding it, before its answer comes back), cut them all, refuse connections (the
 * database unreachable), or slow every answer down.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after } from 'node:test';

interface Link {
  client: Socket;
  server: Socket;
  /** answers from the server are dropped (the connection is about to be cut) */
  deaf: boolean;
  /** when the last delayed answer chunk goes out (keeps their order) */
  lastSendAt: number;
}

interface Trap {
  text: Buffer;
  afterMs: number;
  resolve: () => void;
}

export interface PgProxy {
  /** `url` (a store or database URL on the real server) through the proxy */
  via(url: string): string;
  /** connections through the proxy now open */
  readonly open: number;
  /**
   * PostgreSQL cannot be reached: the open connections are cut, and new ones are cut at once
   * (a refusing server) or, `silent`, accepted and never answered (a host that vanished).
   */
  down(options?: { silent?: boolean }): void;
  up(): void;
  /** every answer from the server is held back this long (0: none) */
  slow(ms: number): void;
  /**
   * The next message a client sends that contains `text` is forwarded, nothing more comes back
   * on that connection, and it is cut `afterMs` later: the statement ran (or was running) on the
   * server, its answer is lost. Resolves when the cut is done.
   */
  cutAfter(text: string, afterMs?: number): Promise<void>;
  /** cuts every open connection now */
  cutAll(): void;
}

export async function startPgProxy(target: string): Promise<PgProxy> {
  const upstream = new URL(target);
  const links = new Set<Link>();
  const traps: Trap[] = [];
  let refusing: false | 'cut' | 'silent' = false;
  const silent = new Set<Socket>();
  let delayMs = 0;

  const cut = (link: Link): void => {
    link.deaf = true;
    link.client.destroy();
    link.server.destroy();
    links.delete(link);
  };

  const server: Server = createServer((client) => {
    if (refusing === 'cut') {
      client.destroy();
      return;
    }
    if (refusing === 'silent') {
      silent.add(client);
      client.on('error', () => undefined);
      client.on('close', () => silent.delete(client));
      return;
    }
    const link: Link = { client, server: connect(Number(upstream.port || 5432), upstream.hostname), deaf: false, lastSendAt: 0 };
    links.add(link);
    client.on('data', (chunk: Buffer) => {
      if (link.deaf) return;
      link.server.write(chunk);
      const hit = traps.findIndex((t) => chunk.includes(t.text));
      if (hit < 0) return;
      const [trap] = traps.splice(hit, 1);
      link.deaf = true;
      setTimeout(() => {
        cut(link);
        trap?.resolve();
      }, trap?.afterMs ?? 0);
    });
    link.server.on('data', (chunk: Buffer) => {
      if (link.deaf) return;
      if (delayMs === 0 && link.lastSendAt <= Date.now()) {
        client.write(chunk);
        return;
      }
      const at = Math.max(Date.now() + delayMs, link.lastSendAt);
      link.lastSendAt = at;
      setTimeout(() => {
        if (!link.deaf) client.write(chunk);
      }, at - Date.now());
    });
    const close = () => cut(link);
    client.on('error', close);
    client.on('close', close);
    link.server.on('error', close);
    link.server.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  after(async () => {
    for (const link of [...links]) cut(link);
    for (const socket of silent) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  return {
    via(url: string): string {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get open() {
      return links.size;
    },
    down(options = {}) {
      refusing = options.silent ? 'silent' : 'cut';
      for (const link of [...links]) cut(link);
    },
    up() {
      refusing = false;
      for (const socket of silent) socket.destroy();
    },
    slow(ms: number) {
      delayMs = ms;
    },
    cutAfter(text: string, afterMs = 0) {
      return new Promise<void>((resolve) => traps.push({ text: Buffer.from(text), afterMs, resolve }));
    },
    cutAll() {
      for (const link of [...links]) cut(link);
    },
  };
}
