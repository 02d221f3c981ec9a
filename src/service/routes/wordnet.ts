import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { errorResponses, nameString, senseChoiceSchema, termString } from '../schemas.js';

/** WordNet look-ups that use the store: the senses of a word scored against a context. */
export function wordnetRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: { word: string; context?: string; text?: string } }>(
    '/api/wordnet/senses',
    {
      schema: {
        summary: "A word's WordNet senses (its first part of speech) scored against a context's words and/or free text: what `synset: auto` chooses, and why",
        tags: ['concepts'],
        querystring: {
          type: 'object',
          required: ['word'],
          additionalProperties: false,
          properties: {
            word: termString,
            context: { ...nameString, description: "a context of the store: its name, description, parents and concepts count as evidence" },
            text: { type: 'string', maxLength: 16_384, description: 'further context words, e.g. the description of the concept being added' },
          },
        },
        response: { 200: senseChoiceSchema, ...errorResponses },
      },
    },
    async (request) => ctx.store.concepts.senses(request.query.word, { context: request.query.context, text: request.query.text }),
  );
}
