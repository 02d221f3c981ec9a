import { join } from 'node:path';
import { EmbeddedBackend } from '../src/backend/embedded/embedded-backend.js';
import { recordConformance } from './conformance/records.js';
import { tempDir } from './helpers.js';

recordConformance('embedded', async () => EmbeddedBackend.init(join(tempDir('softlogic-records-'), 'store')));
