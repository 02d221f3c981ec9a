import type { FastifyInstance } from 'fastify';

/**
 * Responses never show the server's absolute paths (issue 13, item 10). Everything the service
 * writes lives under the store's working directory (the store's own directory, or ./softlogic-work
 * for a server database: uploads in tmp/, rejects/, backups/), so a path under it is reported
 * relative to it (the directory itself as "."), and a workflow's `source` outside the
 * store (a file imported by the CLI on the server) by its base name. Done once, on the
 * serialised JSON of every response, so that no route, error message or detail can leak one.
 */
export function registerPathScrub(app: FastifyInstance, workDir: string): void {
  const root = JSON.stringify(workDir).slice(1, -1);
  const underRoot = new RegExp(`${escape(root)}(?:/+|(?![A-Za-z0-9_.-]))`, 'g');
  // "source":"/abs/dir/file.jsonl" -> "source":"file.jsonl" (after the store's own paths went relative)
  const absoluteSource = /("source":")\/(?:[^"\\]|\\.)*\/((?:[^"\\/]|\\.)*")/g;
  app.addHook('onSend', async (_request, reply, payload) => {
    if (typeof payload !== 'string' || !String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    let text = payload;
    if (text.includes(root)) text = text.replace(underRoot, (m) => (m === root ? '.' : ''));
    if (text.includes('"source":"/')) text = text.replace(absoluteSource, '$1$2');
    return text;
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
