/** The workflow conformance suite (test/conformance/workflows.ts) on the embedded backend. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { workflowConformance, type FreshStore } from './conformance/workflows.js';
import { tempDir } from './helpers.js';

async function embeddedStore(open: (dir: string) => Promise<Store>): Promise<FreshStore> {
  const dir = tempDir();
  const store = await open(join(dir, 'store'));
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
    restoreInto: (file) =>
      embeddedStore(async (target) => {
        await Store.restore(file, target);
        return Store.open(target);
      }),
  };
}

workflowConformance('embedded', () => embeddedStore((dir) => Store.init(dir)));
