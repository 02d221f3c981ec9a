import { z } from 'zod';
import { createRequire } from 'node:module';
import type { Ajv2020 } from 'ajv/dist/2020.js';
import { fieldIssues, type FieldIssue } from './schemas.js';
import { valueIssue } from './json-limits.js';

/**
 * Fast validation with zod as the single source of truth: the zod schema is compiled to JSON
 * Schema once and that to an ajv validator (~10x faster than zod's interpreter on our records),
 * which decides the common, valid case on the hot import path. A record ajv refuses is parsed
 * again by zod, so every error message and the final verdict come from the zod schema.
 */
export type Validation<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

let ajv: Ajv2020 | undefined;
/** Made on first use, ajv (~75 modules) loaded then: a command that validates no record, a query, does not pay for it at start-up. */
function sharedAjv(): Ajv2020 {
  if (!ajv) {
    const { Ajv2020: Ajv } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    // ajv counts code points where zod counts UTF-16 units, so ajv can only be the more lenient of
    // the two on astral characters, by at most 2x: still bounded.
    ajv = new Ajv({ useDefaults: true, strict: false, allErrors: false });
  }
  return ajv;
}

export function compileValidator<S extends z.ZodType>(schema: S): (value: unknown, line?: number) => Validation<z.output<S>> {
  // Compiled on first use: a process (or worker) that never validates this way does not pay for it.
  let fast: ((value: unknown) => boolean) | null = null;
  return (value, line) => {
    fast ??= sharedAjv().compile(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }));
    // Before anything that recurses over the value (the validators, JSON.stringify).
    const bad = valueIssue(value, line);
    if (bad) return { ok: false, issues: [bad] };
    if (fast(value)) return { ok: true, value: value as z.output<S> };
    const result = schema.safeParse(value);
    if (result.success) return { ok: true, value: result.data };
    return { ok: false, issues: fieldIssues(result.error, line) };
  };
}
