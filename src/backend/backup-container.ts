import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { SoftlogicError } from '../core/errors.js';

/**
 * The .slbak container: one file, written front to back, readable front to back, no library.
 *
 *   "SLBAK 1\n"                                  8-byte magic
 *   {"name":"store.json","size":N}\n <N bytes>  one header line + raw bytes per member
 *   ...
 *   {"name":"manifest.json","size":M}\n <M bytes of JSON>  the manifest is the last member
 *   "SLBAK-END <manifest offset:16> <manifest size:16> <sha256 of manifest:64>\n"  fixed-size trailer
 *
 * The manifest lists every other member with its size and SHA-256, in file order. A reader
 * checks the magic, then the trailer (a truncated file has none), then the manifest's own hash,
 * then every member's header and hash as it streams past. Chosen over tar/zip because members
 * are large (logs of hundreds of MB) and streamed with hashing in one pass, the format needs no
 * dependency, and every byte of it is covered by a checksum.
 */
export const MAGIC = Buffer.from('SLBAK 1\n');
const TRAILER_PREFIX = 'SLBAK-END ';
export const TRAILER_LENGTH = TRAILER_PREFIX.length + 16 + 1 + 16 + 1 + 64 + 1;
export const MANIFEST_NAME = 'manifest.json';
const CHUNK = 8 * 1024 * 1024;
const MAX_HEADER = 4096;

export interface MemberEntry {
  name: string;
  size: number;
  sha256: string;
}

export function invalid(message: string, details: Record<string, unknown> = {}): SoftlogicError {
  return new SoftlogicError('BACKUP_INVALID', message, details);
}

const CONTEXT_PART = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}';
const FILE_PART = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const WORKFLOW_PART = '[A-Za-z0-9_][A-Za-z0-9_.:-]{0,255}';
/** The members of a portable backup (portable-backup.ts): backend-neutral records, workflows, files, audit. */
const PORTABLE_PART = `portable/(contexts\\.json|workflows\\.jsonl|audit/\\d{6}\\.jsonl|records/${CONTEXT_PART}/\\d{6}\\.jsonl|staged/${WORKFLOW_PART}/\\d{6}\\.jsonl|files/${CONTEXT_PART}/${FILE_PART})`;
const MEMBER_RE = new RegExp(
  `^(store\\.json|knowledge\\.sqlite|audit\\.jsonl|contexts/${CONTEXT_PART}/${FILE_PART}|workflows/pending/${WORKFLOW_PART}\\.jsonl|${PORTABLE_PART})$`,
);

/** Member names are relative paths of a fixed shape: nothing in a backup can point outside the store. */
export function isSafeMemberName(name: unknown): name is string {
  return typeof name === 'string' && MEMBER_RE.test(name) && !name.split('/').some((p) => p === '.' || p === '..');
}

export class ContainerWriter {
  private readonly fd: number;
  private pos = 0;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  readonly members: MemberEntry[] = [];

  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx');
    this.write(MAGIC);
  }

  get bytes(): number {
    return this.pos;
  }

  private write(data: Buffer): void {
    let off = 0;
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    this.pos += data.length;
  }

  private header(name: string, size: number): void {
    this.write(Buffer.from(`${JSON.stringify({ name, size })}\n`));
  }

  addBuffer(name: string, data: Buffer): MemberEntry {
    this.header(name, data.length);
    this.write(data);
    const entry = { name, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    this.members.push(entry);
    return entry;
  }

  /**
   * Copies the first `length` bytes of an open file; throws CONFLICT when it holds fewer.
   * `observe` sees every byte copied (to check a digest of what went into the backup).
   */
  addFd(name: string, fd: number, length: number, observe?: (data: Buffer) => void): MemberEntry {
    this.header(name, length);
    const hash = createHash('sha256');
    let done = 0;
    while (done < length) {
      const n = readSync(fd, this.buf, 0, Math.min(CHUNK, length - done), done);
      if (n <= 0) throw new SoftlogicError('CONFLICT', `${name} shrank while it was being backed up`, { member: name });
      const slice = this.buf.subarray(0, n);
      hash.update(slice);
      observe?.(slice);
      this.write(slice);
      done += n;
    }
    const entry = { name, size: length, sha256: hash.digest('hex') };
    this.members.push(entry);
    return entry;
  }

  /** Copies a whole file as it is now. */
  addFile(name: string, path: string, observe?: (data: Buffer) => void): MemberEntry {
    const fd = openSync(path, 'r');
    try {
      return this.addFd(name, fd, fstatSync(fd).size, observe);
    } finally {
      closeSync(fd);
    }
  }

  /** Writes the manifest (with the member list filled in) and the trailer, fsyncs, closes. */
  finish(manifest: Record<string, unknown>): void {
    const offset = this.pos;
    const data = Buffer.from(JSON.stringify({ ...manifest, members: this.members }, null, 1));
    this.header(MANIFEST_NAME, data.length);
    this.write(data);
    const sha = createHash('sha256').update(data).digest('hex');
    this.write(Buffer.from(`${TRAILER_PREFIX}${String(offset).padStart(16, '0')} ${String(data.length).padStart(16, '0')} ${sha}\n`));
    fsyncSync(this.fd);
    closeSync(this.fd);
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

export interface OpenedContainer {
  fd: number;
  size: number;
  manifest: Record<string, unknown> & { members: MemberEntry[] };
  manifestOffset: number;
}

export function readExact(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** Reads a member header line at `position`: name, size and where its bytes start. */
function readHeader(fd: number, position: number, fileSize: number): { name: string; size: number; dataStart: number } {
  const head = readExact(fd, Math.min(MAX_HEADER, fileSize - position), position);
  const nl = head.indexOf(10);
  if (nl < 0) throw invalid(`backup is damaged: no member header at byte ${position}`, { offset: position });
  let parsed: { name?: unknown; size?: unknown };
  try {
    parsed = JSON.parse(head.toString('utf8', 0, nl)) as { name?: unknown; size?: unknown };
  } catch {
    throw invalid(`backup is damaged: unreadable member header at byte ${position}`, { offset: position });
  }
  if (typeof parsed.name !== 'string' || typeof parsed.size !== 'number' || !Number.isSafeInteger(parsed.size) || parsed.size < 0) {
    throw invalid(`backup is damaged: bad member header at byte ${position}`, { offset: position });
  }
  return { name: parsed.name, size: parsed.size, dataStart: position + nl + 1 };
}

/** Opens a backup and checks its frame: magic, trailer, manifest checksum and member layout. */
export function openContainer(path: string): OpenedContainer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size < MAGIC.length || !readExact(fd, MAGIC.length, 0).equals(MAGIC)) {
      throw invalid(`${path} is not a softlogic backup (bad magic)`, { member: '(header)' });
    }
    if (size < MAGIC.length + TRAILER_LENGTH) throw invalid(`${path} is truncated (${size} bytes, no end marker)`, { member: '(trailer)' });
    const trailer = readExact(fd, TRAILER_LENGTH, size - TRAILER_LENGTH).toString('latin1');
    const m = /^SLBAK-END (\d{16}) (\d{16}) ([0-9a-f]{64})\n$/.exec(trailer);
    if (!m) throw invalid(`${path} is truncated or damaged: its end marker is missing`, { member: '(trailer)' });
    const manifestOffset = Number(m[1]);
    const manifestSize = Number(m[2]);
    if (manifestOffset < MAGIC.length || manifestOffset >= size - TRAILER_LENGTH) throw invalid(`${path}: end marker points outside the file`, { member: '(trailer)' });
    const header = readHeader(fd, manifestOffset, size);
    if (header.name !== MANIFEST_NAME || header.size !== manifestSize || header.dataStart + manifestSize !== size - TRAILER_LENGTH) {
      throw invalid(`${path}: manifest header does not match the end marker`, { member: MANIFEST_NAME });
    }
    const data = readExact(fd, manifestSize, header.dataStart);
    if (createHash('sha256').update(data).digest('hex') !== m[3]) throw invalid(`${path}: member ${MANIFEST_NAME} fails its SHA-256 checksum`, { member: MANIFEST_NAME });
    let manifest: OpenedContainer['manifest'];
    try {
      manifest = JSON.parse(data.toString('utf8')) as OpenedContainer['manifest'];
    } catch {
      throw invalid(`${path}: ${MANIFEST_NAME} is not JSON`, { member: MANIFEST_NAME });
    }
    if (manifest.format !== 'softlogic-backup' || !Array.isArray(manifest.members)) throw invalid(`${path}: ${MANIFEST_NAME} is not a softlogic backup manifest`, { member: MANIFEST_NAME });
    const seen = new Set<string>();
    for (const e of manifest.members) {
      if (!isSafeMemberName(e.name) || seen.has(e.name)) throw invalid(`${path}: manifest lists an unsafe or duplicate member name ${JSON.stringify(e.name)}`, { member: String(e.name) });
      if (!Number.isSafeInteger(e.size) || e.size < 0 || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256)) {
        throw invalid(`${path}: manifest entry for ${e.name} is malformed`, { member: e.name });
      }
      seen.add(e.name);
    }
    return { fd, size, manifest, manifestOffset };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/**
 * Streams every member in file order, checking each header against the manifest and each
 * member's SHA-256 after its last chunk. `sink` receives chunks; `done` is called when a member
 * verified. Throws BACKUP_INVALID naming the first member that does not match.
 */
export function readMembers(c: OpenedContainer, sink: (entry: MemberEntry, chunk: Buffer) => void, done: (entry: MemberEntry, dataStart: number) => void): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  let position = MAGIC.length;
  for (const entry of c.manifest.members) {
    if (position >= c.manifestOffset) throw invalid(`backup is truncated: member ${entry.name} is missing`, { member: entry.name });
    const header = readHeader(c.fd, position, c.size);
    if (header.name !== entry.name || header.size !== entry.size) {
      throw invalid(`backup is damaged: expected member ${entry.name} (${entry.size} B) at byte ${position}, found ${JSON.stringify(header.name)} (${header.size} B)`, { member: entry.name });
    }
    if (header.dataStart + entry.size > c.manifestOffset) throw invalid(`backup is truncated inside member ${entry.name}`, { member: entry.name });
    const hash = createHash('sha256');
    let read = 0;
    while (read < entry.size) {
      const n = readSync(c.fd, buf, 0, Math.min(CHUNK, entry.size - read), header.dataStart + read);
      if (n <= 0) throw invalid(`backup is truncated inside member ${entry.name}`, { member: entry.name });
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      sink(entry, chunk);
      read += n;
    }
    if (hash.digest('hex') !== entry.sha256) throw invalid(`backup member ${entry.name} fails its SHA-256 checksum`, { member: entry.name });
    done(entry, header.dataStart);
    position = header.dataStart + entry.size;
  }
  if (position !== c.manifestOffset) throw invalid('backup holds bytes not listed in its manifest', { member: MANIFEST_NAME, offset: position });
}
