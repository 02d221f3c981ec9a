/**
 * FrameNet-style semantic frames: schemas (zod, one per entity, the single place their rules live),
 * the parser for a frames file (JSON or YAML), and validation of frame instances against their frame.
 *
 * A frames file is one frame, a list of frames, or `{frames: [...], relations: [...], instances: [...]}`.
 * Unknown fields are refused rather than dropped (DESIGN.md principle 3), and every error names the
 * item (`frames[2]`), the field path (`core_elements[0].name`) and the reason.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { parseDocument } from 'yaml';
import { z } from 'zod';
import { SoftlogicError } from '../core/errors.js';
import { duplicateKeyIn, recordLimitIssue, valueIssue } from '../core/json-limits.js';

/** Names that become ids and keys: the charset DESIGN.md allows for ids, bounded length. */
const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const nameSchema = z.string().regex(NAME, 'must be 1-128 characters of A-Z a-z 0-9 _ . : -');
const stringList = z.array(z.string().min(1, 'must not be empty'));

export const FrameElementSchema = z.strictObject({
  name: nameSchema,
  description: z.string().default(''),
  /** What kind of filler the element takes, e.g. "Sentient", "Physical_object". */
  type: z.string().min(1).optional(),
  semantic_constraints: stringList.optional(),
  typical_fillers: stringList.optional(),
});

export const FrameSchema = z
  .strictObject({
    name: nameSchema,
    definition: z.string().default(''),
    core_elements: z.array(FrameElementSchema).default([]),
    peripheral_elements: z.array(FrameElementSchema).default([]),
    lexical_units: stringList.default([]),
    inherits_from: z.array(nameSchema).default([]),
    uses_frames: z.array(nameSchema).default([]),
    metadata: z.record(z.string(), z.unknown()).default({}),
  })
  .superRefine((frame, ctx) => {
    // An element name must mean one thing within a frame, whether core or peripheral.
    const seen = new Set<string>();
    for (const [list, elements] of [
      ['core_elements', frame.core_elements],
      ['peripheral_elements', frame.peripheral_elements],
    ] as const) {
      elements.forEach((el, i) => {
        if (seen.has(el.name)) {
          ctx.addIssue({ code: 'custom', path: [list, i, 'name'], message: `duplicate element name "${el.name}"` });
        }
        seen.add(el.name);
      });
    }
    if (frame.inherits_from.includes(frame.name)) {
      ctx.addIssue({ code: 'custom', path: ['inherits_from'], message: 'a frame cannot inherit from itself' });
    }
  });

/** FrameNet's frame-to-frame relations, in snake case. */
export const FRAME_RELATION_TYPES = [
  'inheritance',
  'using',
  'subframe',
  'precedes',
  'perspective_on',
  'causative_of',
  'inchoative_of',
  'see_also',
  'metaphor',
] as const;

/** Spellings people write for the same relation (the frame fields are named this way). */
const RELATION_ALIASES: Record<string, (typeof FRAME_RELATION_TYPES)[number]> = {
  inherits_from: 'inheritance',
  inherits: 'inheritance',
  uses: 'using',
  uses_frame: 'using',
  subframe_of: 'subframe',
  has_subframe: 'subframe',
};

export const FrameRelationSchema = z.strictObject({
  source: nameSchema,
  target: nameSchema,
  type: z.preprocess(
    (v) => {
      if (typeof v !== 'string') return v;
      const t = v.trim().toLowerCase().replace(/[\s-]+/g, '_');
      return RELATION_ALIASES[t] ?? t;
    },
    z.enum(FRAME_RELATION_TYPES, { error: `must be one of ${FRAME_RELATION_TYPES.join(', ')}` }),
  ),
  /** source frame element -> target frame element */
  element_mappings: z.record(z.string(), nameSchema).default({}),
});

export const FrameInstanceSchema = z.strictObject({
  /** A uuid is assigned when absent, as for analogies. */
  instance_id: nameSchema.optional(),
  frame_name: nameSchema,
  /** frame element -> concept id */
  element_bindings: z.record(nameSchema, z.string().min(1, 'must be a concept id')),
  confidence: z.number().min(0).max(1).default(1),
  context: nameSchema.default('default'),
});

export type FrameElement = z.infer<typeof FrameElementSchema>;
export type Frame = z.infer<typeof FrameSchema>;
/** What a file may hold: defaults not yet applied. */
export type FrameInput = z.input<typeof FrameSchema>;
export type FrameRelationType = (typeof FRAME_RELATION_TYPES)[number];
export type FrameRelation = z.infer<typeof FrameRelationSchema>;
export type FrameInstance = Omit<z.infer<typeof FrameInstanceSchema>, 'instance_id'> & { instance_id: string };

export interface FramesDocument {
  frames: Frame[];
  relations: FrameRelation[];
  instances: FrameInstance[];
}

export type FramesFormat = 'json' | 'yaml' | 'auto';

/** `a.b[2].c` from a zod issue path. */
function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function invalid(item: string, issues: z.core.$ZodIssue[], source?: string): SoftlogicError {
  const list = issues.map((i) => ({ field: pathText(i.path), reason: i.message }));
  const where = source ? `${source}: ` : '';
  const text = list.map((i) => `${item}${i.field ? `.${i.field}` : ''}: ${i.reason}`).join('; ');
  return new SoftlogicError('INVALID_INPUT', `${where}${text}`, { item, source, issues: list });
}

/** A frames item over the record limits (depth, serialised size), refused like any invalid item. */
function limitError(item: string, issue: { field: string; reason: string }, source?: string): SoftlogicError {
  const where = source ? `${source}: ` : '';
  const field = issue.field === '(record)' ? '' : `.${issue.field}`;
  return new SoftlogicError('INVALID_INPUT', `${where}${item}${field}: ${issue.reason}`, { item, source, issues: [{ field: issue.field, reason: issue.reason }] });
}

function parseItem<T extends z.ZodType>(schema: T, value: unknown, item: string, source?: string): z.infer<T> {
  const deep = valueIssue(value);
  if (deep) throw limitError(item, deep, source);
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(item, r.error.issues, source);
  const big = recordLimitIssue(r.data);
  if (big) throw limitError(item, big, source);
  return r.data;
}

/** One frame from an already-decoded value (e.g. an HTTP body). */
export function parseFrame(value: unknown, item = 'frame'): Frame {
  return parseItem(FrameSchema, value, item);
}

export function parseFrameRelation(value: unknown, item = 'relation'): FrameRelation {
  return parseItem(FrameRelationSchema, value, item);
}

export function parseFrameInstance(value: unknown, item = 'instance'): FrameInstance {
  const inst = parseItem(FrameInstanceSchema, value, item);
  return { ...inst, instance_id: inst.instance_id ?? randomUUID() };
}

/** `json` for .json, `yaml` for .yaml / .yml, else `auto`. */
export function formatFromPath(path: string): FramesFormat {
  const p = path.toLowerCase();
  if (p.endsWith('.json')) return 'json';
  if (p.endsWith('.yaml') || p.endsWith('.yml')) return 'yaml';
  return 'auto';
}

function decode(text: string, format: FramesFormat, source?: string): unknown {
  const where = source ? `${source}: ` : '';
  const json = format === 'json' || (format === 'auto' && /^\s*[[{]/.test(text) && !/^\s*\{\s*\w+\s*:/.test(text));
  if (json) {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (err) {
      throw new SoftlogicError('INVALID_INPUT', `${where}malformed JSON: ${(err as Error).message}`, { source, format: 'json' });
    }
    // YAML refuses duplicate keys itself (uniqueKeys); JSON.parse would keep the last one.
    const duplicate = duplicateKeyIn(text);
    if (duplicate !== null) throw new SoftlogicError('INVALID_INPUT', `${where}duplicate key ${duplicate}`, { source, format: 'json', field: duplicate });
    return value;
  }
  // prettyErrors (the default) is what fills in linePos.
  let doc: ReturnType<typeof parseDocument>;
  try {
    // yaml (~70 modules) is loaded when a frame file is read, not by every command at start-up.
    doc = (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parseDocument(text);
  } catch (err) {
    throw yamlRefused(err, where, source);
  }
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0];
    const at = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    throw new SoftlogicError('INVALID_INPUT', `${where}malformed YAML${at}: ${first.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`, {
      source,
      format: 'yaml',
      line: pos?.line,
      column: pos?.col,
    });
  }
  try {
    // Aliases are expanded by reference here, but every item is serialised later (size check,
    // log line): few aliases are allowed, so that a small file cannot stand for a huge one.
    return doc.toJS({ maxAliasCount: YAML_MAX_ALIASES }) as unknown;
  } catch (err) {
    throw yamlRefused(err, where, source);
  }
}

/** How many alias nodes (`*name`) a YAML frames file may use, and how much each may expand (yaml's own measure). */
export const YAML_MAX_ALIASES = 50;

/** Billion laughs (the alias limit), or nesting deep enough to exhaust the parser's stack: the file's fault. */
function yamlRefused(err: unknown, where: string, source?: string): SoftlogicError {
  if (err instanceof SoftlogicError) return err;
  const stack = err instanceof RangeError;
  const reason = stack ? 'nested too deep' : `too many aliases or aliases expanding too far (at most ${YAML_MAX_ALIASES}): ${(err as Error).message}`;
  return new SoftlogicError('INVALID_INPUT', `${where}YAML refused: ${reason}`, { source, format: 'yaml' });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a frames file. `source` (e.g. the file name) prefixes error messages. Empty input or a
 * document with nothing in it is EMPTY_INPUT; everything else wrong is INVALID_INPUT naming the item.
 */
export function parseFramesDocument(text: string, format: FramesFormat = 'auto', source?: string): FramesDocument {
  const where = source ? `${source}: ` : '';
  const value = decode(text, format, source);
  let frames: unknown[];
  let relations: unknown[] = [];
  let instances: unknown[] = [];
  if (Array.isArray(value)) {
    frames = value;
  } else if (isRecord(value) && ('frames' in value || 'relations' in value || 'instances' in value)) {
    const extra = Object.keys(value).filter((k) => k !== 'frames' && k !== 'relations' && k !== 'instances');
    if (extra.length > 0) {
      throw new SoftlogicError('INVALID_INPUT', `${where}unknown top-level field(s) ${extra.join(', ')} (expected frames, relations, instances)`, {
        source,
        fields: extra,
      });
    }
    for (const key of ['frames', 'relations', 'instances'] as const) {
      const v = value[key];
      if (v !== undefined && v !== null && !Array.isArray(v)) {
        throw new SoftlogicError('INVALID_INPUT', `${where}${key}: must be a list`, { source, field: key });
      }
    }
    frames = (value.frames as unknown[] | null | undefined) ?? [];
    relations = (value.relations as unknown[] | null | undefined) ?? [];
    instances = (value.instances as unknown[] | null | undefined) ?? [];
  } else if (isRecord(value)) {
    frames = [value];
  } else if (value === null || value === undefined) {
    throw new SoftlogicError('EMPTY_INPUT', `${where}the frames file is empty`, { source });
  } else {
    throw new SoftlogicError('INVALID_INPUT', `${where}expected a frame, a list of frames or {frames, relations, instances}, got ${typeof value}`, {
      source,
    });
  }
  if (frames.length + relations.length + instances.length === 0) {
    throw new SoftlogicError('EMPTY_INPUT', `${where}the frames file holds no frames, relations or instances`, { source });
  }
  const doc: FramesDocument = {
    frames: frames.map((f, i) => parseItem(FrameSchema, f, `frames[${i}]`, source)),
    relations: relations.map((r, i) => parseItem(FrameRelationSchema, r, `relations[${i}]`, source)),
    instances: instances.map((x, i) => {
      const inst = parseItem(FrameInstanceSchema, x, `instances[${i}]`, source);
      return { ...inst, instance_id: inst.instance_id ?? randomUUID() };
    }),
  };
  const names = new Map<string, number>();
  doc.frames.forEach((f, i) => {
    const prev = names.get(f.name);
    if (prev !== undefined) {
      throw new SoftlogicError('INVALID_INPUT', `${where}frames[${i}].name: frame "${f.name}" is already defined by frames[${prev}]`, {
        source,
        item: `frames[${i}]`,
        field: 'name',
      });
    }
    names.set(f.name, i);
  });
  return doc;
}

/** Whether a concept can be bound: true / 'active' yes; false / 'unknown' / 'deleted' no. */
export type ConceptStatus = boolean | 'active' | 'unknown' | 'deleted';

export type FrameLookup = (name: string) => Frame | undefined;

export interface ValidationIssue {
  field: string;
  reason: 'wrong_frame' | 'unknown_element' | 'unknown_concept' | 'deleted_concept' | 'missing_core_element' | 'unknown_parent_frame';
  message: string;
}

export interface EffectiveElements {
  /** Element name -> the frame that defines it (the frame itself wins over its ancestors). */
  core: Map<string, string>;
  peripheral: Map<string, string>;
  /** Ancestors named in inherits_from that the lookup does not know. */
  missingParents: string[];
}

/**
 * The elements a frame has, its own plus those inherited along inherits_from (transitively; a
 * cycle is cut). A nearer definition wins, so a child can demote an inherited core element.
 */
export function effectiveElements(frame: Frame, lookupFrame?: FrameLookup): EffectiveElements {
  const core = new Map<string, string>();
  const peripheral = new Map<string, string>();
  const missingParents: string[] = [];
  const visited = new Set<string>();
  // Breadth first, so a parent's definitions beat a grandparent's.
  let level: Frame[] = [frame];
  while (level.length > 0) {
    const next: Frame[] = [];
    for (const f of level) {
      if (visited.has(f.name)) continue;
      visited.add(f.name);
      for (const el of f.core_elements) if (!core.has(el.name) && !peripheral.has(el.name)) core.set(el.name, f.name);
      for (const el of f.peripheral_elements) if (!core.has(el.name) && !peripheral.has(el.name)) peripheral.set(el.name, f.name);
      for (const parent of f.inherits_from) {
        if (visited.has(parent)) continue;
        const p = lookupFrame?.(parent);
        if (p) next.push(p);
        else if (lookupFrame && !missingParents.includes(parent)) missingParents.push(parent);
      }
    }
    level = next;
  }
  return { core, peripheral, missingParents };
}

/** Every problem of an instance against its frame; empty when it is valid. */
export function instanceIssues(
  frame: Frame,
  instance: FrameInstance,
  conceptExists: (id: string) => ConceptStatus,
  lookupFrame?: FrameLookup,
): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (instance.frame_name !== frame.name) {
    issues.push({
      field: 'frame_name',
      reason: 'wrong_frame',
      message: `instance is of frame "${instance.frame_name}", validated against "${frame.name}"`,
    });
  }
  const { core, peripheral, missingParents } = effectiveElements(frame, lookupFrame);
  for (const parent of missingParents) {
    issues.push({
      field: 'frame_name',
      reason: 'unknown_parent_frame',
      message: `frame "${frame.name}" inherits from unknown frame "${parent}", so its inherited elements cannot be checked`,
    });
  }
  const known = [...core.keys(), ...peripheral.keys()];
  for (const [element, conceptId] of Object.entries(instance.element_bindings)) {
    const field = `element_bindings.${element}`;
    if (!core.has(element) && !peripheral.has(element)) {
      issues.push({
        field,
        reason: 'unknown_element',
        message: `frame "${frame.name}" has no element "${element}" (elements: ${known.join(', ') || 'none'})`,
      });
      continue;
    }
    const status = conceptExists(conceptId);
    if (status === 'deleted') {
      issues.push({ field, reason: 'deleted_concept', message: `${element} is bound to concept "${conceptId}", which is deleted` });
    } else if (status === false || status === 'unknown') {
      issues.push({ field, reason: 'unknown_concept', message: `${element} is bound to unknown concept "${conceptId}"` });
    }
  }
  for (const [element, definedBy] of core) {
    if (!(element in instance.element_bindings)) {
      const inherited = definedBy === frame.name ? '' : ` (inherited from "${definedBy}")`;
      issues.push({
        field: `element_bindings.${element}`,
        reason: 'missing_core_element',
        message: `core element "${element}"${inherited} of frame "${frame.name}" is not bound`,
      });
    }
  }
  return issues;
}

/**
 * Checks an instance against its frame: every bound element exists (own or inherited), every
 * bound concept exists and is not deleted, every core element (own or inherited) is bound.
 * Throws one INVALID_INPUT listing every problem (details.issues); returns the instance when valid.
 */
export function validateInstance(
  frame: Frame,
  instance: FrameInstance,
  conceptExists: (id: string) => ConceptStatus,
  lookupFrame?: FrameLookup,
): FrameInstance {
  const issues = instanceIssues(frame, instance, conceptExists, lookupFrame);
  if (issues.length > 0) {
    throw new SoftlogicError('INVALID_INPUT', `instance "${instance.instance_id}": ${issues.map((i) => i.message).join('; ')}`, {
      instance_id: instance.instance_id,
      frame_name: instance.frame_name,
      issues,
    });
  }
  return instance;
}

/**
 * Checks a relation against the frames it links: both exist, and every element mapping names an
 * element of the source (key) and of the target (value), inherited ones included.
 */
export function validateRelation(relation: FrameRelation, lookupFrame: FrameLookup): FrameRelation {
  const problems: string[] = [];
  const source = lookupFrame(relation.source);
  const target = lookupFrame(relation.target);
  if (!source) problems.push(`unknown source frame "${relation.source}"`);
  if (!target) problems.push(`unknown target frame "${relation.target}"`);
  if (source && target) {
    const se = effectiveElements(source, lookupFrame);
    const te = effectiveElements(target, lookupFrame);
    for (const [from, to] of Object.entries(relation.element_mappings)) {
      if (!se.core.has(from) && !se.peripheral.has(from)) problems.push(`source frame "${source.name}" has no element "${from}"`);
      if (!te.core.has(to) && !te.peripheral.has(to)) problems.push(`target frame "${target.name}" has no element "${to}"`);
    }
  }
  if (problems.length > 0) {
    throw new SoftlogicError('INVALID_INPUT', `relation ${relation.source} -[${relation.type}]-> ${relation.target}: ${problems.join('; ')}`, {
      relation,
      problems,
    });
  }
  return relation;
}
