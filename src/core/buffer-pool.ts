/**
 * Large buffers handed back by the thread that consumed them, for the thread that fills the next
 * one (ByteBuilder's `spare`). Reused memory is already mapped; fresh memory costs a page fault
 * per 4 KB page on first touch, which on a virtual machine is far from free. Bounded: a buffer
 * beyond MAX_SPARES is left to the garbage collector.
 */
const MAX_SPARES = 4;

export class BufferPool {
  private readonly spares: ArrayBuffer[] = [];
  private users = 0;

  /** A user (a running import) starts: buffers handed back are kept until the last one ends. */
  open(): void {
    this.users += 1;
  }

  close(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) this.spares.length = 0;
  }

  put(buffer: ArrayBuffer): void {
    if (this.users > 0 && this.spares.length < MAX_SPARES && buffer.byteLength > 0) this.spares.push(buffer);
  }

  take(): ArrayBuffer | null {
    return this.spares.pop() ?? null;
  }
}

/** This thread's pool of chunk buffers (log batches written by LogAppendThread). */
export const chunkBuffers = new BufferPool();
