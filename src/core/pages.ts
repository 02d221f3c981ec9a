/**
 * The items of an async iterable of pages, one at a time. Backends stream pages (a few thousand
 * records per await); a consumer iterating items through an async generator would pay several
 * promises and a generator resumption per item, this costs one resolved promise per item.
 */
export function flattenPages<P, T = P>(pages: AsyncIterable<P[]>, map: (item: P) => T = (item) => item as unknown as T): AsyncIterableIterator<T> {
  return new FlatPages(pages, map);
}

class FlatPages<P, T> implements AsyncIterableIterator<T> {
  private page: P[] = [];
  private at = 0;
  private source: AsyncIterator<P[]> | undefined;
  private finished = false;

  constructor(
    private readonly pages: AsyncIterable<P[]>,
    private readonly map: (item: P) => T,
  ) {}

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.at < this.page.length) {
      try {
        return Promise.resolve({ value: this.map(this.page[this.at++]), done: false });
      } catch (err) {
        return this.return().then(() => Promise.reject(err as Error));
      }
    }
    return this.nextPage();
  }

  private async nextPage(): Promise<IteratorResult<T>> {
    this.source ??= this.pages[Symbol.asyncIterator]();
    while (!this.finished) {
      const result = await this.source.next();
      if (result.done) break;
      this.page = result.value;
      this.at = 0;
      if (this.page.length > 0) return this.next();
    }
    this.finished = true;
    this.page = [];
    return { value: undefined, done: true };
  }

  /** Stops early (a `break` in for await): the backend's snapshot and files are released. */
  async return(): Promise<IteratorResult<T>> {
    const wasOpen = !this.finished;
    this.finished = true;
    this.page = [];
    if (wasOpen) await this.source?.return?.();
    return { value: undefined, done: true };
  }
}
