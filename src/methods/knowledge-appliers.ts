import { registerItemApplier } from '../workflows/item-appliers.js';
import { applyConceptItem } from './concepts/batch.js';
import { applyFrameItem } from './frames/frames.js';
import { applyClusterItem } from './fields/fields.js';

/**
 * Item appliers of the knowledge workflows: imported by the Store so that any process can
 * process or resume such a workflow.
 */
registerItemApplier('concept_batch', (store, batch, item, now) => {
  applyConceptItem(store, batch, item, now);
});
registerItemApplier('frame_expansion', (store, batch, item, now) => {
  applyFrameItem(store, batch, item, now);
});
registerItemApplier('cluster_update', (store, batch, item, now) => {
  applyClusterItem(store, batch, item, now);
});
