/** Bucket upper bounds in ms (the last bucket is open-ended). */
export const LATENCY_BOUNDS_MS = [0.1, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000] as const;

export interface HistogramSnapshot {
  bounds: readonly number[];
  /** counts per bucket; one more than bounds (overflow) */
  counts: number[];
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
}

/** A fixed-bucket histogram: O(buckets) memory, a few comparisons per value. */
export class LatencyHistogram {
  private readonly counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  record(ms: number): void {
    let i = 0;
    while (i < LATENCY_BOUNDS_MS.length && ms > LATENCY_BOUNDS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  snapshot(): HistogramSnapshot {
    return {
      bounds: LATENCY_BOUNDS_MS,
      counts: [...this.counts],
      count: this.count,
      sum: this.sum,
      min: this.count ? this.min : null,
      max: this.count ? this.max : null,
    };
  }
}
