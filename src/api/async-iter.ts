/**
 * Async iteration without a promise chain per record: a backend hands out pages (arrays), the
 * facade hands out one record at a time through `for await`. Within a page `next()` returns an
 * already-resolved promise, so a million records cost a million cheap resolutions plus one real
 * await per page, not a million async-generator round trips.
 */

/** The records of `pages`, one by one; `map` turns each stored item into what the caller sees. */
export function flattenPages<P, T = P>(pages: AsyncIterable<P[]>, map?: (item: P) => T): AsyncIterableIterator<T> {
  const source = pages[Symbol.asyncIterator]();
  let page: P[] = [];
  let i = 0;
  let finished = false;
  const nextPage = async (): Promise<IteratorResult<T>> => {
    while (!finished) {
      const r = await source.next();
      if (r.done) break;
      page = r.value;
      i = 0;
      if (page.length > 0) return { value: (map ? map(page[i++]) : page[i++]) as T, done: false };
    }
    finished = true;
    return { value: undefined, done: true };
  };
  const it: AsyncIterableIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (i < page.length) {
        try {
          return Promise.resolve({ value: (map ? map(page[i++]) : page[i++]) as T, done: false });
        } catch (err) {
          return Promise.reject(err);
        }
      }
      return nextPage();
    },
    async return(): Promise<IteratorResult<T>> {
      finished = true;
      page = [];
      await source.return?.();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

/**
 * A synchronous iterable as pages of `size` (the embedded backend reads synchronously inside).
 * `items` is called on the first page, so that its errors (a missing context, a bad filter)
 * reject the iteration instead of throwing from the call that created the stream.
 */
export async function* pagesOf<T>(items: () => Iterable<T>, size = 1024): AsyncGenerator<T[]> {
  let page: T[] = [];
  for (const item of items()) {
    page.push(item);
    if (page.length >= size) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** Every item of an async iterable in an array (for small results and tests). */
export async function collect<T>(items: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
