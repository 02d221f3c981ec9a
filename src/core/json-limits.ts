import { SoftlogicError } from './errors.js';
import { LIMITS } from './limits.js';

/**
 * Checks of a parsed JSON value that must run before anything recursive touches it:
 * JSON.stringify, validators and the CLI's printer recurse once per nesting level and overflow
 * the stack a few thousand levels down, while JSON.parse does not. So the depth is measured here
 * without recursion (an explicit stack), and only then is a record serialised to check its size.
 */
export interface LimitIssue {
  line?: number;
  field: string;
  reason: string;
}

/** Depth and numbers (valueIssue), then serialised size (LIMITS.recordBytes), of a record of any kind: the first issue, or null. */
export function recordLimitIssue(value: unknown, line?: number): LimitIssue | null {
  const bad = valueIssue(value, line);
  if (bad) return bad;
  const bytes = (JSON.stringify(value) ?? '').length;
  if (bytes <= LIMITS.recordBytes) return null;
  const reason = `serialises to ${bytes} bytes, over the ${LIMITS.recordBytes}-byte record limit`;
  return line === undefined ? { field: '(record)', reason } : { line, field: '(record)', reason };
}

/**
 * A record read back from a log, checked before it is handed to code that recurses over it or
 * serialises it: one stored before the limits existed (nested past LIMITS.depth, or holding a
 * number such as 1e999 that would read back as null) is refused with a clear error instead of
 * overflowing the stack or disagreeing with the stored text. (`stream` serves that text as it is.)
 */
export function assertStoredValue<T>(record: T, what: { kind: string; id?: unknown; context: string }): T {
  const issue = valueIssue(record);
  if (issue === null) return record;
  throw new SoftlogicError(
    'INVALID_RECORD',
    `stored ${what.kind} ${String(what.id ?? '')} in context '${what.context}': ${issue.field}: ${issue.reason} (stored before this limit); stream it as stored, or delete it`,
    { kind: what.kind, id: what.id, context: what.context, field: issue.field },
  );
}

/** What a value nested past the limit is shown as by cutAtDepth. */
export const CUT_MARK = `(nested more than ${LIMITS.depth} levels deep: stored as is, not shown)`;

/**
 * The record with every value nested past the limit replaced by CUT_MARK (in place), for an
 * operation that is done and only echoes the record (a delete of a record stored before the limit).
 */
export function cutAtDepth<T>(record: T): T {
  if (typeof record !== 'object' || record === null) return record;
  const stack: Array<{ v: Record<string, unknown>; depth: number }> = [{ v: record as Record<string, unknown>, depth: 1 }];
  while (stack.length > 0) {
    const { v, depth } = stack.pop() as { v: Record<string, unknown>; depth: number };
    for (const key in v) {
      const child = v[key];
      if (typeof child !== 'object' || child === null) continue;
      if (depth + 1 > LIMITS.depth) v[key] = CUT_MARK;
      else stack.push({ v: child as Record<string, unknown>, depth: depth + 1 });
    }
  }
  return record;
}

/**
 * The first problem of a parsed value that JSON.parse lets through: nesting past the limit, or a
 * number that is not finite (`1e999` parses to Infinity, which JSON.stringify writes as null:
 * stored as text it would read back differently). One pass, no recursion.
 */
export function valueIssue(value: unknown, line?: number): LimitIssue | null {
  const issue = (field: string, reason: string): LimitIssue => (line === undefined ? { field, reason } : { line, field, reason });
  if (typeof value === 'number') return Number.isFinite(value) ? null : issue('(record)', 'is not a finite number');
  if (typeof value !== 'object' || value === null) return null;
  const stack: Array<{ v: object; depth: number; path: string }> = [{ v: value, depth: 1, path: '' }];
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop() as { v: object; depth: number; path: string };
    if (depth > LIMITS.depth) return issue(path || '(record)', `nested more than ${LIMITS.depth} levels deep`);
    for (const key in v) {
      const child = (v as Record<string, unknown>)[key];
      if (typeof child === 'number') {
        if (!Number.isFinite(child)) return issue(path ? `${path}.${key}` : key, 'is not a finite number (out of range)');
      } else if (typeof child === 'object' && child !== null) {
        stack.push({ v: child, depth: depth + 1, path: depth <= 3 ? (path ? `${path}.${key}` : key) : path });
      }
    }
  }
  return null;
}

/**
 * The first key that appears twice in one object of a JSON text (which JSON.parse would silently
 * collapse to its last value), as a dotted path, or null. The text must be valid JSON (call it
 * after JSON.parse succeeded). Iterative; keys with escapes are compared decoded.
 */
export function duplicateKeyIn(text: string): string | null {
  // Per open container: its keys so far (objects only) and the key it sits under.
  const stack: Array<{ keys: Set<string> | null; under: string }> = [];
  let pendingKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      const top = stack[stack.length - 1];
      if (top?.keys) {
        // A string is a key when the next non-blank character is ':'.
        let j = i + 1;
        while (j < text.length && (text.charCodeAt(j) === 0x20 || text.charCodeAt(j) === 0x09 || text.charCodeAt(j) === 0x0a || text.charCodeAt(j) === 0x0d)) j++;
        if (text.charCodeAt(j) === 0x3a) {
          const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
          if (top.keys.has(key)) return [...stack.slice(1).map((s) => s.under), key].filter((s) => s !== '').join('.');
          top.keys.add(key);
          pendingKey = key;
        }
      }
    } else if (c === 0x7b || c === 0x5b) {
      const parent = stack[stack.length - 1];
      stack.push({ keys: c === 0x7b ? new Set() : null, under: parent?.keys ? pendingKey : stack.length > 0 ? '[]' : '' });
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
    }
  }
  return null;
}

/**
 * Whether JSON text certainly parses to a value in which valueIssue finds nothing (nesting within
 * LIMITS.depth, every number finite), read from the text in one pass without parsing it, so that
 * stored text can be served as it is. Conservative: false means "parse it and ask valueIssue"
 * (a number is only converted when it has an exponent or hundreds of digits, the only ways to
 * overflow to Infinity).
 */
export function textWithinValueLimits(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote (one not escaped by an odd run of backslashes).
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i < 0) return false;
        let slashes = 0;
        while (text.charCodeAt(i - 1 - slashes) === 0x5c) slashes++;
        if (slashes % 2 === 0) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > LIMITS.depth) return false;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let exponent = false;
      for (; i + 1 < text.length; i++) {
        const d = text.charCodeAt(i + 1);
        if (d === 0x65 || d === 0x45) exponent = true;
        else if (!((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x2b || d === 0x2d)) break;
      }
      if ((exponent || i - start > 300) && !Number.isFinite(Number(text.slice(start, i + 1)))) return false;
    }
  }
  return true;
}
