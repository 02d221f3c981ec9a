import { registerItemApplier, registerRawItemApplier } from '../workflows/item-appliers.js';
import { applyConceptItem, conceptItemKeys, conceptProvider, parseConceptItem } from './concepts/batch.js';
import { applyFrameItem, frameChunk, frameItemKeys } from './frames/frames.js';
import { applyClusterItem, clusterItemKey } from './fields/fields.js';

/**
 * Item appliers of the knowledge workflows: imported by the Store so that any process can
 * process or resume such a workflow. Each names the records of the workflow's context it reads
 * (`keys`); concept and frame chunks also read, before their batch, what a batch cannot read
 * synchronously (`prepare`: the context's embedding provider; the frames and concepts of the
 * parent contexts).
 */
registerRawItemApplier('concept_batch', {
  parse: parseConceptItem,
  keys: conceptItemKeys,
  prepare: (backend, context) => conceptProvider(backend, context),
  apply: (batch, change, now, _workflowId, provider) => {
    applyConceptItem(batch, change, now, provider);
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
