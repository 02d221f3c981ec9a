/** The HTTP service as a library entry point (`softlogic/service`): build it or start it on a store. */
export { buildServer, type ServerOptions } from './server.js';
export { startService, type StartOptions, type RunningService } from './start.js';
