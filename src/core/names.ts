import { SoftlogicError } from './errors.js';

/**
 * Names that reach the file system or the index are checked here, once. Context names become
 * directory names, so they may not contain ':' (the id separator) nor start with a dot.
 */
const CONTEXT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export const ID_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,255}$/;
const ID_RE = ID_PATTERN;

function describe(value: unknown): string {
  if (typeof value !== 'string') return `a ${typeof value}`;
  if (value.length > 80) return `a ${value.length}-character string`;
  return JSON.stringify(value);
}

export function isValidContextName(value: unknown): value is string {
  return typeof value === 'string' && CONTEXT_RE.test(value) && value !== '.' && value !== '..';
}

export function assertContextName(value: unknown): string {
  if (isValidContextName(value)) return value;
  throw new SoftlogicError('INVALID_NAME', `invalid context name ${describe(value)}: use 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'`, {
    field: 'context',
  });
}

export function assertId(value: unknown, field = 'id'): string {
  if (typeof value === 'string' && ID_RE.test(value)) return value;
  throw new SoftlogicError('INVALID_NAME', `invalid ${field} ${describe(value)}: use 1-256 of [A-Za-z0-9_.:-], not starting with '.', ':' or '-'`, {
    field,
  });
}

export function isValidId(value: string): boolean {
  return ID_RE.test(value);
}

export const DEFAULT_CONTEXT = 'default';
