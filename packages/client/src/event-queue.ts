/**
 * EventQueue is a bounded push-to-pull buffer behind an AsyncIterator: a producer pushes, one
 * consumer awaits `next()`. It ends (`done`) after `end()`, or throws the error of `fail()` once the
 * buffered items are consumed. Pushing past `itemsMax` fails the queue with the error from
 * `onOverflow`, so a consumer that stops reading cannot grow memory without bound.
 */
export class EventQueue<T> implements AsyncIterator<T> {
  private readonly items: T[] = [];
  private head = 0;
  private waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | undefined;
  private finished: { error: unknown } | undefined;

  constructor(
    private readonly itemsMax: number,
    private readonly onOverflow: () => unknown,
  ) {}

  /** isFinished is true once ended or failed (buffered items may still be waiting). */
  get isFinished(): boolean {
    return this.finished !== undefined;
  }

  push(item: T): void {
    if (this.finished !== undefined) return;
    if (this.waiter !== undefined) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: item, done: false });
      return;
    }
    if (this.items.length - this.head >= this.itemsMax) {
      this.fail(this.onOverflow());
      return;
    }
    this.items.push(item);
  }

  /** end finishes the queue: buffered items are still delivered, then `done`. */
  end(): void {
    this.finish({ error: undefined });
  }

  /** fail finishes the queue with an error, thrown after the buffered items. */
  fail(error: unknown): void {
    this.finish({ error });
  }

  /** discard drops the buffered items and ends at once (the consumer left). */
  discard(): void {
    this.items.length = 0;
    this.head = 0;
    this.finish({ error: undefined });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head++] as T;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.finished !== undefined) {
      const { error } = this.finished;
      if (error !== undefined) {
        // Throw once; later calls report done, as a finished generator does.
        this.finished = { error: undefined };
        return Promise.reject(error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter !== undefined)
      return Promise.reject(new Error('EventQueue has one consumer: next() while waiting'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private finish(finished: { error: unknown }): void {
    if (this.finished !== undefined) return;
    this.finished = finished;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter === undefined) return;
    if (finished.error !== undefined) {
      this.finished = { error: undefined };
      waiter.reject(finished.error);
    } else waiter.resolve({ value: undefined, done: true });
  }
}
