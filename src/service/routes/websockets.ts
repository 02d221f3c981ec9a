import type { FastifyInstance } from 'fastify';
import type { ProgressEvent, Workflow } from '../../index.js';
import { SoftlogicError } from '../../index.js';
import { trackStream, type ServiceContext } from '../context.js';
import { filterProperties, FINAL_STATUSES, idParams, type FilterQuery } from '../schemas.js';

/** The part of a `ws` WebSocket these routes use (the package ships no types here). */
interface Socket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  /** drops the connection at once, buffers and all */
  terminate(): void;
  on(event: 'close', listener: () => void): void;
}

const OPEN = 1;
/** Stop sending while more than this many bytes wait in the socket's buffer. */
export const HIGH_WATER_BYTES = 1024 * 1024;

function errorMessage(err: unknown): string {
  const e = err instanceof SoftlogicError ? err : new SoftlogicError('INTERNAL', 'Internal error');
  return JSON.stringify({ type: 'error', error: e.toJSON() });
}

/**
 * Resolves true once the socket's buffer is below the high-water mark, false if it closed or
 * stayed full for `stallMs` (a client that stopped reading: the caller drops it, so that a
 * stalled client holds at most the high-water mark, and not its read snapshot forever).
 */
function drained(socket: Socket, stallMs: number): Promise<boolean> {
  const deadline = Date.now() + stallMs;
  return new Promise((resolve) => {
    let wait = 2;
    const check = () => {
      if (socket.readyState !== OPEN) resolve(false);
      else if (socket.bufferedAmount <= HIGH_WATER_BYTES) resolve(true);
      else if (Date.now() >= deadline) resolve(false);
      else setTimeout(check, (wait = Math.min(wait * 2, 100)));
    };
    setImmediate(check);
  });
}

export function websocketRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.get<{ Params: { id: string } }>(
    '/ws/workflows/:id',
    {
      websocket: true,
      schema: {
        summary: 'WebSocket: the workflow state, then each progress event; closes after the final one',
        tags: ['websockets'],
        params: idParams,
      },
      // Unknown workflows get an HTTP 404 before the upgrade.
      preHandler: async (request) => {
        await store.workflows.get(request.params.id);
      },
    },
    async (socket: Socket, request) => {
      const id = request.params.id;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        store.events.off('progress', onProgress);
        if (socket.readyState === OPEN) socket.close(1000, 'final');
      };
      const onProgress = (e: ProgressEvent) => {
        if (e.workflow_id !== id || done) return;
        if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: 'progress', ...e }));
        if (e.final) finish();
      };
      // Subscribe before reading the state so no event falls between the two.
      store.events.on('progress', onProgress);
      socket.on('close', () => {
        done = true;
        store.events.off('progress', onProgress);
      });
      let wf: Workflow;
      try {
        wf = await store.workflows.get(id);
      } catch (err) {
        socket.send(errorMessage(err));
        finish();
        return;
      }
      socket.send(JSON.stringify({ type: 'state', final: FINAL_STATUSES.has(wf.status), workflow: wf }));
      if (FINAL_STATUSES.has(wf.status)) finish();
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/ws/analogies/stream',
    {
      websocket: true,
      schema: {
        summary: 'WebSocket: every matching analogy, one message each, then {"type":"complete","count":N}',
        tags: ['websockets'],
        querystring: { type: 'object', additionalProperties: false, properties: filterProperties },
      },
    },
    async (socket: Socket, request) => {
      let closed = false;
      socket.on('close', () => {
        closed = true;
      });
      const lines = store.analogies.streamJson(request.query);
      const untrack = trackStream(ctx, () => {
        closed = true;
        if (socket.readyState === OPEN) socket.close(1001, 'server shutting down');
      });
      let count = 0;
      try {
        for await (const line of lines) {
          if (closed) break;
          if (socket.bufferedAmount > HIGH_WATER_BYTES) {
            if (!(await drained(socket, ctx.streamStallMs))) {
              if (!closed) request.log.info({ sent: count, buffered: socket.bufferedAmount }, 'websocket stream client stalled: dropped');
              closed = true;
              socket.terminate();
              break;
            }
            if (closed || socket.readyState !== OPEN) break;
          }
          socket.send(line);
          count++;
        }
        if (!closed && socket.readyState === OPEN) {
          socket.send(JSON.stringify({ type: 'complete', count }));
          socket.close(1000, 'complete');
        }
      } catch (err) {
        request.log.error({ err }, 'websocket stream failed');
        if (socket.readyState === OPEN) {
          socket.send(errorMessage(err));
          socket.close(1011, 'error');
        }
      } finally {
        await lines.return?.();
        untrack();
      }
    },
  );
}
