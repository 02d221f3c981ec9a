import type { FastifyInstance } from 'fastify';
import { SoftlogicError } from '../core/errors.js';
import { duplicateKeyIn } from '../core/json-limits.js';

/**
 * JSON bodies are parsed as before (Fastify's parser, with its prototype-poisoning checks) and
 * then refused if an object repeats a key, which JSON.parse would collapse to its last value:
 * the same rule as every file path (issue 13, item 11).
 */
export function refuseDuplicateKeys(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parse(request, text, (err, value) => {
      if (err) return done(err, undefined);
      const duplicate = duplicateKeyIn(text);
      if (duplicate !== null) return done(new SoftlogicError('INVALID_INPUT', `the JSON body repeats the key ${duplicate}`, { field: duplicate }), undefined);
      done(null, value);
    });
  });
}
