/**
 * An async iterable opened at its first `next()`: what opening throws (a bad filter, a missing
 * context) rejects the iteration instead of throwing from the call that made the stream, whoever
 * wraps it (the facade's flattenPages takes its iterator at once).
 */
export function deferredIterable<T>(open: () => AsyncIterable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      let source: AsyncIterator<T> | undefined;
      return {
        next: async () => (source ??= open()[Symbol.asyncIterator]()).next(),
        return: async () => (await source?.return?.()) ?? { value: undefined, done: true },
      };
    },
  };
}
