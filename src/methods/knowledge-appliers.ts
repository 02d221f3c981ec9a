import { registerItemApplier } from '../workflows/item-appliers.js';
import { applyConceptItem, conceptItemKey, conceptProvider } from './concepts/batch.js';
import { applyFrameItem, frameChunk, frameItemKeys } from './frames/frames.js';
import { applyClusterItem, clusterItemKey } from './fields/fields.js';

/**
 * Item appliers of the knowledge workflows: imported by the Store so that any process can
 * process or resume such a workflow. Each names the records of the workflow's context it reads
 * (`keys`); concept and frame chunks also read, before their batch, what a batch cannot read
 * synchronously (`prepare`: the context's embedding provider; the frames and concepts of the
 * parent contexts).
 */
registerItemApplier('concept_batch', {
  keys: (item, context) => [conceptItemKey(context, item)],
  prepare: (backend, context) => conceptProvider(backend, context),
  apply: (batch, item, now, _workflowId, provider) => {
    applyConceptItem(batch, item, now, provider);
  },
});
registerItemApplier('frame_expansion', {
  keys: (item) => frameItemKeys(item),
  prepare: (backend, context, items) => frameChunk(backend, context, items),
  apply: (batch, item, now, _workflowId, chunk) => applyFrameItem(batch, item, now, chunk),
});
registerItemApplier('cluster_update', {
  keys: (item) => [clusterItemKey(item)],
  apply: (batch, item, now) => applyClusterItem(batch, item, now),
});
