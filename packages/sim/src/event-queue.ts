/**
 * EventQueue is the simulator's clock: events ordered by (time, insertion order), so two runs with
 * the same seed pop the same events in the same order.
 */
export class EventQueue<T> {
  private heap: { time: number; seq: number; value: T }[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, value: T): void {
    const item = { time, seq: this.seq++, value };
    const heap = this.heap;
    heap.push(item);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(item, heap[parent] as typeof item)) break;
      heap[index] = heap[parent] as typeof item;
      index = parent;
    }
    heap[index] = item;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  pop(): { time: number; value: T } | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop() as (typeof heap)[number];
    if (heap.length > 0) {
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        const right = left + 1;
        let smallest = index;
        const current = smallest === index ? last : (heap[smallest] as typeof last);
        let best = current;
        if (left < heap.length && before(heap[left] as typeof last, best)) {
          smallest = left;
          best = heap[left] as typeof last;
        }
        if (right < heap.length && before(heap[right] as typeof last, best)) {
          smallest = right;
          best = heap[right] as typeof last;
        }
        if (smallest === index) break;
        heap[index] = best;
        index = smallest;
      }
      heap[index] = last;
    }
    return { time: top.time, value: top.value };
  }
}

function before(a: { time: number; seq: number }, b: { time: number; seq: number }): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
