import { readTextFile } from '../../core/input-files.js';
import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import type { RecordKind, Workflow } from '../../core/records.js';
import {
  formatFromPath,
  parseFramesDocument,
  validateInstance,
  validateRelation,
  type ConceptStatus,
  type Frame,
  type FrameInstance,
  type FrameRelation,
} from '../../reasoning/frames.js';
import type { EmbeddedStore, WriteBatch } from '../../backend/embedded/embedded-store.js';
import type { Engine } from '../../workflows/engine.js';
import { createWorkflow } from '../../workflows/create.js';
import { processWorkflow } from '../../workflows/process.js';
import type { VersionFields } from '../../core/records.js';
import { putEntity } from '../entities/mutations.js';
import { findEntity, listEntitiesInChain } from '../entities/read.js';

/**
 * Frames, frame relations and frame instances as entity records of a context:
 *   frame           id = frame name
 *   frame_relation  id = source:type:target
 *   frame_instance  id = instance_id
 * `frames add FILE` stages a frame_expansion workflow (frames first, then relations, then
 * instances) after checking the whole document against the store: one bad item refuses the file.
 * The applier checks each item again against what the store holds when it is applied.
 */
export type FrameRecord = Frame & VersionFields & { id: string; context: string };
export type FrameRelationRecord = FrameRelation & VersionFields & { id: string; context: string };
export type FrameInstanceRecord = FrameInstance & VersionFields & { id: string };

export type FrameItem =
  | { kind: 'frame'; record: Frame }
  | { kind: 'frame_relation'; record: FrameRelation }
  | { kind: 'frame_instance'; record: FrameInstance };

export function relationId(r: FrameRelation): string {
  return `${r.source}:${r.type}:${r.target}`;
}

/** Active or deleted status of a concept id in the context chain (for instance validation). */
export function conceptStatus(store: EmbeddedStore, context: string): (id: string) => ConceptStatus {
  const chain = store.contextChain(context);
  return (id) => {
    for (const ctx of chain) {
      const row = store.entities.get(ctx.ctx, 'concept', id);
      if (row) return row.deleted_at === null ? 'active' : 'deleted';
    }
    return 'unknown';
  };
}

export function storedFrame(store: EmbeddedStore, context: string): (name: string) => Frame | undefined {
  return (name) => {
    const found = findEntity<FrameRecord>(store, 'frame', name, context);
    return found && found.record.deleted_at === null ? found.record : undefined;
  };
}

export function applyFrameItem(store: EmbeddedStore, batch: WriteBatch, raw: unknown, now: string): void {
  const item = raw as FrameItem;
  const context = batch.context.name;
  const lookup = storedFrame(store, context);
  if (item.kind === 'frame') {
    putEntity(store, batch, 'frame', { ...item.record, id: item.record.name, context }, now);
  } else if (item.kind === 'frame_relation') {
    validateRelation(item.record, lookup);
    putEntity(store, batch, 'frame_relation', { ...item.record, id: relationId(item.record), context }, now);
  } else {
    const frame = lookup(item.record.frame_name);
    if (!frame) throw new SoftlogicError('INVALID_INPUT', `instance "${item.record.instance_id}": unknown frame "${item.record.frame_name}"`, { instance_id: item.record.instance_id });
    validateInstance(frame, item.record, conceptStatus(store, context), lookup);
    putEntity(store, batch, 'frame_instance', { ...item.record, id: item.record.instance_id, context }, now);
  }
}

export interface AddFramesResult {
  workflow: Workflow;
  frames: number;
  relations: number;
  instances: number;
}

/** Parses FILE (JSON or YAML), checks everything against the document and the store, stores it. */
export async function addFrames(engine: Engine, file: string, options: { context?: string } = {}): Promise<AddFramesResult> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const text = readTextFile(file);
  const doc = parseFramesDocument(text, formatFromPath(file), file);
  const store = engine.store;
  store.ensureContext(context);
  const inDoc = new Map(doc.frames.map((f) => [f.name, f]));
  const stored = storedFrame(store, context);
  const lookup = (name: string) => inDoc.get(name) ?? stored(name);
  const concepts = conceptStatus(store, context);
  const problems: Array<{ item: string; reason: string }> = [];
  doc.relations.forEach((r, i) => {
    try {
      validateRelation(r, lookup);
    } catch (err) {
      problems.push({ item: `relations[${i}]`, reason: (err as Error).message });
    }
  });
  doc.instances.forEach((inst, i) => {
    if (inst.context !== DEFAULT_CONTEXT && inst.context !== context) {
      problems.push({ item: `instances[${i}]`, reason: `instance names context '${inst.context}' but is added to '${context}' (add it to context '${inst.context}')` });
      return;
    }
    const frame = lookup(inst.frame_name);
    if (!frame) {
      problems.push({ item: `instances[${i}]`, reason: `unknown frame "${inst.frame_name}"` });
      return;
    }
    try {
      validateInstance(frame, { ...inst, context }, concepts, lookup);
    } catch (err) {
      problems.push({ item: `instances[${i}]`, reason: (err as Error).message });
    }
  });
  if (problems.length > 0) {
    throw new SoftlogicError('INVALID_INPUT', `${file}: ${problems.map((p) => `${p.item}: ${p.reason}`).join('; ')}`, {
      file,
      issues: problems.map((p) => ({ field: p.item, reason: p.reason })),
    });
  }
  const wf = await createWorkflow(engine, { workflowType: 'frame_expansion', context, metadata: { source: file }, autoProcess: true }, (writer) => {
    for (const f of doc.frames) writer.add({ kind: 'frame', record: f } satisfies FrameItem);
    for (const r of doc.relations) writer.add({ kind: 'frame_relation', record: r } satisfies FrameItem);
    for (const x of doc.instances) writer.add({ kind: 'frame_instance', record: { ...x, context } } satisfies FrameItem);
  });
  const workflow = await processWorkflow(engine, wf.workflow_id);
  if (workflow.error_count > 0) {
    throw new SoftlogicError('CONFLICT', `${workflow.error_count} item(s) of ${file} were refused while applied: ${workflow.error_log.join('; ')}`, { workflow });
  }
  return { workflow, frames: doc.frames.length, relations: doc.relations.length, instances: doc.instances.length };
}

export function getFrame(store: EmbeddedStore, name: string, context = DEFAULT_CONTEXT): FrameRecord & { relations: FrameRelationRecord[] } {
  store.requireContext(context);
  const found = findEntity<FrameRecord>(store, 'frame', name, context);
  if (!found) throw new SoftlogicError('NOT_FOUND', `frame ${name} not found in context '${context}' or its parents`, { name, context });
  const relations = listEntitiesInChain<FrameRelationRecord>(store, 'frame_relation', context).filter((r) => r.source === name || r.target === name);
  return { ...found.record, relations };
}

export function listFrames(store: EmbeddedStore, context = DEFAULT_CONTEXT): FrameRecord[] {
  return listEntitiesInChain<FrameRecord>(store, 'frame', context);
}

export function frameInstances(store: EmbeddedStore, name: string, context = DEFAULT_CONTEXT): FrameInstanceRecord[] {
  getFrame(store, name, context);
  return listEntitiesInChain<FrameInstanceRecord>(store, 'frame_instance', context).filter((i) => i.frame_name === name);
}

export function queryInstances(store: EmbeddedStore, options: { context?: string; element?: string; concept?: string; frame?: string }): FrameInstanceRecord[] {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  store.requireContext(context);
  if (options.element === undefined && options.concept === undefined && options.frame === undefined) {
    throw new SoftlogicError('INVALID_INPUT', 'a frame instance query needs an element, a concept or a frame', { field: 'element' });
  }
  return listEntitiesInChain<FrameInstanceRecord>(store, 'frame_instance', context).filter((inst) => {
    if (options.frame !== undefined && inst.frame_name !== options.frame) return false;
    const bindings = Object.entries(inst.element_bindings);
    if (options.element !== undefined && options.concept !== undefined) return inst.element_bindings[options.element] === options.concept;
    if (options.element !== undefined) return options.element in inst.element_bindings;
    if (options.concept !== undefined) return bindings.some(([, c]) => c === options.concept);
    return true;
  });
}

export const FRAME_KINDS: RecordKind[] = ['frame', 'frame_relation', 'frame_instance'];
