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
import type { Backend } from '../../backend/backend.js';
import type { WriteBatch } from '../../backend/write-batch.js';
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

/** The concept ids an instance binds. */
function boundConcepts(instance: FrameInstance): string[] {
  return [...new Set(Object.values(instance.element_bindings))];
}

/** Active or deleted status of concept ids, each from the nearest of `contexts` holding it. */
async function conceptStatuses(backend: Backend, contexts: readonly string[], ids: Iterable<string>): Promise<Map<string, ConceptStatus>> {
  const statuses = new Map<string, ConceptStatus>();
  for (const id of ids) {
    if (statuses.has(id)) continue;
    let status: ConceptStatus = 'unknown';
    for (const ctx of contexts) {
      const stored = await backend.records.current(ctx, 'concept', id);
      if (stored) {
        status = stored.deleted ? 'deleted' : 'active';
        break;
      }
    }
    statuses.set(id, status);
  }
  return statuses;
}

/** The active frames of a context and its parents, by name (a nearer one hides the same name). */
async function storedFrames(backend: Backend, context: string): Promise<Map<string, Frame>> {
  return new Map((await listEntitiesInChain<FrameRecord>(backend, 'frame', context)).map((f) => [f.name, f]));
}

/**
 * What applying a chunk of frame_expansion items reads beyond its own batch: the frames of the
 * context chain (frames inherit along it) and the status of the concepts its instances bind in
 * the parent contexts. The batch reads the context's own concepts itself (they are prefetched),
 * so a concept deleted meanwhile in it is seen; frames put by the chunk are added as it goes.
 */
export interface FrameChunk {
  frames: Map<string, Frame>;
  parentConcepts: Map<string, ConceptStatus>;
}

export async function frameChunk(backend: Backend, context: string, items: readonly unknown[]): Promise<FrameChunk> {
  const parents = (await backend.contexts.chain(context)).slice(1).map((c) => c.name);
  const bound = (items as FrameItem[]).flatMap((item) => (item.kind === 'frame_instance' ? boundConcepts(item.record) : []));
  return { frames: await storedFrames(backend, context), parentConcepts: await conceptStatuses(backend, parents, bound) };
}

/** The records of the batch's context an item reads: the one it writes, and the concepts an instance binds. */
export function frameItemKeys(raw: unknown): Array<readonly [RecordKind, string]> {
  const item = raw as FrameItem;
  if (item.kind === 'frame') return [['frame', item.record.name]];
  if (item.kind === 'frame_relation') return [['frame_relation', relationId(item.record)]];
  return [['frame_instance', item.record.instance_id], ...boundConcepts(item.record).map((id) => ['concept', id] as const)];
}

export function applyFrameItem(batch: WriteBatch, raw: unknown, now: string, chunk: FrameChunk): void {
  const item = raw as FrameItem;
  const context = batch.context.name;
  const lookup = (name: string): Frame | undefined => chunk.frames.get(name);
  if (item.kind === 'frame') {
    putEntity(batch, 'frame', { ...item.record, id: item.record.name, context }, now);
    chunk.frames.set(item.record.name, item.record);
  } else if (item.kind === 'frame_relation') {
    validateRelation(item.record, lookup);
    putEntity(batch, 'frame_relation', { ...item.record, id: relationId(item.record), context }, now);
  } else {
    const frame = lookup(item.record.frame_name);
    if (!frame) throw new SoftlogicError('INVALID_INPUT', `instance "${item.record.instance_id}": unknown frame "${item.record.frame_name}"`, { instance_id: item.record.instance_id });
    const status = (id: string): ConceptStatus => {
      const own = batch.current('concept', id);
      if (own) return own.deleted ? 'deleted' : 'active';
      return chunk.parentConcepts.get(id) ?? 'unknown';
    };
    validateInstance(frame, item.record, status, lookup);
    putEntity(batch, 'frame_instance', { ...item.record, id: item.record.instance_id, context }, now);
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
  const backend = engine.backend;
  await backend.contexts.ensure(context);
  const inDoc = new Map(doc.frames.map((f) => [f.name, f]));
  const stored = await storedFrames(backend, context);
  const lookup = (name: string) => inDoc.get(name) ?? stored.get(name);
  const chain = (await backend.contexts.chain(context)).map((c) => c.name);
  const statuses = await conceptStatuses(backend, chain, doc.instances.flatMap(boundConcepts));
  const concepts = (id: string): ConceptStatus => statuses.get(id) ?? 'unknown';
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

export async function getFrame(backend: Backend, name: string, context = DEFAULT_CONTEXT): Promise<FrameRecord & { relations: FrameRelationRecord[] }> {
  await backend.contexts.require(context);
  const found = await findEntity<FrameRecord>(backend, 'frame', name, context);
  if (!found) throw new SoftlogicError('NOT_FOUND', `frame ${name} not found in context '${context}' or its parents`, { name, context });
  const relations = (await listEntitiesInChain<FrameRelationRecord>(backend, 'frame_relation', context)).filter((r) => r.source === name || r.target === name);
  return { ...found.record, relations };
}

export function listFrames(backend: Backend, context = DEFAULT_CONTEXT): Promise<FrameRecord[]> {
  return listEntitiesInChain<FrameRecord>(backend, 'frame', context);
}

export async function frameInstances(backend: Backend, name: string, context = DEFAULT_CONTEXT): Promise<FrameInstanceRecord[]> {
  await getFrame(backend, name, context);
  return (await listEntitiesInChain<FrameInstanceRecord>(backend, 'frame_instance', context)).filter((i) => i.frame_name === name);
}

export async function queryInstances(backend: Backend, options: { context?: string; element?: string; concept?: string; frame?: string }): Promise<FrameInstanceRecord[]> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  await backend.contexts.require(context);
  if (options.element === undefined && options.concept === undefined && options.frame === undefined) {
    throw new SoftlogicError('INVALID_INPUT', 'a frame instance query needs an element, a concept or a frame', { field: 'element' });
  }
  return (await listEntitiesInChain<FrameInstanceRecord>(backend, 'frame_instance', context)).filter((inst) => {
    if (options.frame !== undefined && inst.frame_name !== options.frame) return false;
    const bindings = Object.entries(inst.element_bindings);
    if (options.element !== undefined && options.concept !== undefined) return inst.element_bindings[options.element] === options.concept;
    if (options.element !== undefined) return options.element in inst.element_bindings;
    if (options.concept !== undefined) return bindings.some(([, c]) => c === options.concept);
    return true;
  });
}

export const FRAME_KINDS: RecordKind[] = ['frame', 'frame_relation', 'frame_instance'];
