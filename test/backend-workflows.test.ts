/** The workflow conformance suite (test/conformance/workflows.ts) on the embedded backend. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { workflowConformance } from './conformance/workflows.js';
import { tempDir } from './helpers.js';

workflowConformance('embedded', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 'store'));
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
