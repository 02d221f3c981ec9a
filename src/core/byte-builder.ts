/**
 * Bytes built up in one growing Buffer (log batches, staged blocks): text is encoded into it
 * once, checksums are taken over its bytes, and the result is written or handed to another
 * thread from the same memory.
 */
export class ByteBuilder {
  protected buf: Buffer;
  length = 0;

  /** `expectedBytes`: about what it will hold, so it rarely grows (each growth copies). */
  constructor(expectedBytes = 1 << 20) {
    this.buf = Buffer.allocUnsafe(Math.max(4096, expectedBytes));
  }

  /** Makes room for `bytes` more. */
  protected reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + bytes) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** The bytes as a view that owns its memory (transferable to another thread without a copy). */
  transferable(): Uint8Array {
    const owns = this.buf.byteOffset === 0 && this.buf.buffer.byteLength === this.buf.length;
    return owns ? new Uint8Array(this.buf.buffer, 0, this.length) : new Uint8Array(this.bytes());
  }
}
