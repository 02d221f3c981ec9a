import { z } from 'zod';
import { FrameElementSchema, FrameInstanceSchema, FrameRelationSchema, FrameSchema } from '../reasoning/frames.js';
import { versionProperties } from './schemas.js';

/**
 * OpenAPI schemas of frames, frame elements, relations and instances, generated from the zod
 * schemas that validate them (one source of truth): inputs as a client sends them (defaults
 * optional), records as the store answers them (every field, plus id, context and versions).
 */
type JsonSchema = { [key: string]: unknown };

function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** A response lists its fields without `required`: the serializer must never fail on a record. */
function withoutRequired(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutRequired);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== 'required')
      .map(([k, v]) => [k, withoutRequired(v)]),
  );
}

function recordOf(schema: z.ZodType, extra: JsonSchema, description: string): JsonSchema {
  const base = withoutRequired(jsonSchemaOf(schema, 'output')) as JsonSchema;
  return { ...base, description, additionalProperties: false, properties: { ...(base.properties as JsonSchema), ...extra, ...versionProperties } };
}

const text = { type: 'string' } as const;

export const frameElementInput = { ...jsonSchemaOf(FrameElementSchema, 'input'), description: 'a frame element (a role of the frame)' };

/** The relation type also takes aliases (inherits_from, uses, subframe_of, ...), as the parser does. */
function relationInput(): JsonSchema {
  const schema = jsonSchemaOf(FrameRelationSchema, 'input');
  const properties = schema.properties as JsonSchema;
  const type = properties.type as JsonSchema;
  return {
    ...schema,
    description: 'a relation between two frames: source TYPE target',
    properties: {
      ...properties,
      type: { ...type, description: 'case, spaces and hyphens are normalised; aliases: inherits_from, inherits (inheritance), uses, uses_frame (using), subframe_of, has_subframe (subframe)' },
    },
  };
}

export const framesDocumentSchema = {
  description: 'a frames document, JSON (application/json) or YAML (application/yaml, text/yaml); a bare array is a list of frames',
  type: 'object',
  additionalProperties: false,
  properties: {
    frames: { type: 'array', items: { ...jsonSchemaOf(FrameSchema, 'input'), description: 'a frame; its elements are frame elements' } },
    relations: { type: 'array', items: relationInput() },
    instances: { type: 'array', items: { ...jsonSchemaOf(FrameInstanceSchema, 'input'), description: 'frame elements bound to concept ids' } },
  },
};

export const frameRecordSchema = recordOf(FrameSchema, { id: { ...text, description: 'the frame name' }, context: text }, 'a stored frame');
export const relationRecordSchema = recordOf(FrameRelationSchema, { id: { ...text, description: 'source:type:target' }, context: text }, 'a stored frame relation');
export const instanceRecordSchema = recordOf(FrameInstanceSchema, { id: { ...text, description: 'the instance_id' } }, 'a stored frame instance');
