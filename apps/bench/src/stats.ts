/** Summary is what one workload run reports: throughput and latency percentiles in milliseconds. */
export interface Summary {
  ops: number;
  errors: number;
  seconds: number;
  opsPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Recorder keeps every latency sample (µs) of a run in a growing Float64Array: no per-sample objects. */
export class Recorder {
  private samples = new Float64Array(1 << 16);
  private count = 0;
  errors = 0;

  record(micros: number): void {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = micros;
  }

  get size(): number {
    return this.count;
  }

  summary(seconds: number): Summary {
    const sorted = this.samples.subarray(0, this.count).slice().sort();
    const at = (q: number) =>
      sorted.length === 0
        ? 0
        : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number) / 1000;
    return {
      ops: this.count,
      errors: this.errors,
      seconds,
      opsPerSec: seconds > 0 ? this.count / seconds : 0,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: at(1),
    };
  }
}

/** median of a list of numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
