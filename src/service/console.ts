import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Where `npm run build:web` (run by `npm ci` through `prepare`) puts the built console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../web', import.meta.url));

/**
 * The web console at / : the files Vite built, served from the package (no CDN, nothing fetched
 * at run time). Its API calls go to /api and /ws like any other client's. Without a build (a
 * checkout where only `tsc` ran) / says how to build it.
 */
export async function consoleRoutes(app: FastifyInstance, dir: string = CONSOLE_DIR): Promise<void> {
  if (!existsSync(`${dir}/index.html`)) {
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(404).type('text/plain; charset=utf-8').send('The web console is not built: run `npm run build:web` (npm ci does it).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // Vite names assets by content hash: they never change, so browsers may keep them.
    setHeaders: (res, path) => {
      res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
