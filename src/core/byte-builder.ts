/**
 * Bytes built up in one growing Buffer (log batches, staged blocks): text is encoded into it
 * once, checksums are taken over its bytes, and the result is written or handed to another
 * thread from the same memory.
 */
const HEX_DIGITS = Buffer.from('0123456789abcdef');

export class ByteBuilder {
  protected buf: Buffer;
  length = 0;

  /**
   * `expectedBytes`: about what it will hold, so it rarely grows (each growth copies). `spare`:
   * memory to reuse if it is large enough (a buffer handed back by the thread that consumed the
   * last one): fresh memory costs a page fault per page on first touch, reused memory does not.
   */
  constructor(expectedBytes = 1 << 20, spare?: ArrayBuffer | null) {
    const size = Math.max(4096, expectedBytes);
    this.buf = spare && spare.byteLength >= size ? Buffer.from(spare) : Buffer.allocUnsafeSlow(size);
  }

  /** Makes room for `bytes` more. */
  protected reserve(bytes: number): void {
    if (this.length + bytes <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + bytes) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  putByte(byte: number): void {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = byte;
  }

  putBytes(bytes: Buffer, from: number, to: number): void {
    this.reserve(to - from);
    if (to - from > 64) {
      this.length += bytes.copy(this.buf, this.length, from, to);
      return;
    }
    // A few bytes are copied here: cheaper than a call into the native copy.
    const buf = this.buf;
    let at = this.length;
    for (let i = from; i < to; i++) buf[at++] = bytes[i];
    this.length = at;
  }

  putText(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buf.write(text, this.length, 'utf8');
  }

  /** Writes a non-negative safe integer in decimal. */
  putDecimal(value: number): void {
    let digits = 1;
    for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
    this.reserve(digits);
    let at = this.length + digits;
    this.length = at;
    for (let v = value; at > this.length - digits; v = Math.floor(v / 10)) this.buf[--at] = 0x30 + (v % 10);
  }

  /** Writes `value` as 8 lower-case hex digits at byte `at` (a CRC-32). */
  protected putHex8(value: number, at: number): void {
    for (let shift = 28; shift >= 0; shift -= 4) this.buf[at++] = HEX_DIGITS[(value >>> shift) & 15];
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
