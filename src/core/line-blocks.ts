/**
 * A byte stream of JSON lines cut into blocks of whole lines of about `blockBytes` (a line
 * longer than that gets a block of its own, grown to its newline; the last block may end
 * without one), each block owning its memory, so it can be handed to another thread: what
 * parallel staging takes from an input it cannot read by byte ranges (a gzip'd file as it is
 * decompressed). Each byte is copied once, into its block.
 */
export async function* lineBlocks(input: AsyncIterable<unknown> | Iterable<unknown>, blockBytes: number): AsyncGenerator<Buffer> {
  let block = Buffer.allocUnsafeSlow(blockBytes);
  let length = 0;
  for await (const item of input) {
    const piece = item as Buffer;
    let from = 0;
    while (from < piece.length) {
      if (length === block.length) {
        const nl = block.lastIndexOf(10, length - 1);
        if (nl < 0) {
          // One line fills the block: grown until its newline arrives.
          const grown = Buffer.allocUnsafeSlow(block.length * 2);
          block.copy(grown, 0, 0, length);
          block = grown;
        } else {
          // Full: its whole lines go; the line it ends inside starts the next block.
          const next = Buffer.allocUnsafeSlow(Math.max(blockBytes, length - nl - 1));
          length = block.copy(next, 0, nl + 1, length);
          yield block.subarray(0, nl + 1);
          block = next;
        }
      }
      const n = piece.copy(block, length, from, Math.min(piece.length, from + block.length - length));
      length += n;
      from += n;
    }
  }
  if (length > 0) yield block.subarray(0, length);
}

/**
 * The items of `source`, each asked for as soon as the one before it is taken (up to `depth`
 * ahead): a producer that works only when pulled (a decompression) then works while its
 * consumer does, not in turn with it.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]();
  const queue: Array<Promise<IteratorResult<T>>> = [];
  try {
    const ask = () => {
      while (queue.length < depth) {
        const next = it.next();
        // Awaited in turn below; a rejection meanwhile is not an unhandled one.
        next.catch(() => {});
        queue.push(next);
      }
    };
    for (ask(); ; ) {
      const r = await (queue.shift() as Promise<IteratorResult<T>>);
      if (r.done) return;
      ask();
      yield r.value;
    }
  } finally {
    await it.return?.(undefined);
  }
}
