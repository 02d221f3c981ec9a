import { createReadStream } from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The digest of a workflow's staged file, recorded with the workflow (`staged_crc`) and checked
 * before a process or resume applies anything, and by backup: `crc32:<8 hex digits>:<bytes>`, a
 * CRC-32 of every byte (zlib's, hardware-accelerated: ~4 GB/s) and the file's length. It
 * guards against a file truncated, extended or changed after staging, as every line's own CRC
 * guards each line; it is no defence against someone who can rewrite the store's files anyway.
 * Stores staged before it record a SHA-256 (64 hex digits): such a digest is still checked as one.
 */
const LEGACY_SHA256 = /^[0-9a-f]{64}$/;

export class StagedDigest {
  private crc = 0;
  private bytes = 0;
  private readonly sha: Hash | null;

  /** `expected`: a digest to compute the same kind of (a legacy SHA-256 or the CRC form). */
  constructor(expected?: string | null) {
    this.sha = expected && LEGACY_SHA256.test(expected) ? createHash('sha256') : null;
  }

  update(data: Buffer): void {
    if (this.sha) {
      this.sha.update(data);
      return;
    }
    this.crc = crc32(data, this.crc);
    this.bytes += data.length;
  }

  value(): string {
    if (this.sha) return this.sha.digest('hex');
    return `crc32:${this.crc.toString(16).padStart(8, '0')}:${this.bytes}`;
  }
}

/** The digest of the file at `path`, of the same kind as `expected`. */
export async function stagedDigestOfFile(path: string, expected: string | null): Promise<string> {
  const digest = new StagedDigest(expected);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) digest.update(chunk as Buffer);
  return digest.value();
}
