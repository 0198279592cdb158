/** Latency percentiles (nearest-rank: the smallest sample at or above the given fraction of samples). */
export function percentile(samples: readonly number[], fraction: number): number {
  if (samples.length === 0) throw new Error("no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1]!;
}

/** Milliseconds rounded to 0.1 ms for reports. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
