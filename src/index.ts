/**
 * softlogic's library API. `openStore(dir)` opens (or with `{ create: true }` creates) a store;
 * every capability of the CLI and the service is a typed method of the returned Store.
 * The HTTP service is its own entry point (`softlogic/service`), so importing the library does
 * not load Fastify.
 */
export * from './api/index.js';
