import { crc32 } from 'node:zlib';
import { createHash } from 'node:crypto';

/** CRC-32 as 8 lower-case hex digits (zlib's native implementation: cheap enough per log line). */
export function crc32Hex(data: string | Buffer): string {
  return crc32(data).toString(16).padStart(8, '0');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The value of a lower-case hex digit's character code, or -1. */
export function hexValue(c: number): number {
  return c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
}
