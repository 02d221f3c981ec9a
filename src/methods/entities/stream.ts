import { SoftlogicError } from '../../core/errors.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { RecordKind } from '../../core/records.js';
import type { Backend } from '../../backend/backend.js';

export const ENTITY_KINDS: readonly RecordKind[] = ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field'];

export function assertEntityKind(kind: string): RecordKind {
  if ((ENTITY_KINDS as readonly string[]).includes(kind)) return kind as RecordKind;
  throw new SoftlogicError('INVALID_INPUT', `unknown kind '${kind}': one of ${ENTITY_KINDS.join(', ')} (analogies: analogies stream)`, { field: 'kind' });
}

/**
 * Every active record of one kind in one context as JSON text, in write order, from one snapshot
 * in constant memory, in pages.
 */
export function streamEntityJson(backend: Backend, kind: string, context = DEFAULT_CONTEXT): AsyncIterable<string[]> {
  return backend.records.streamEntityJson(context, assertEntityKind(kind));
}
