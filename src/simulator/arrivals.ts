/** Figures of the arrival times a simulator records (tests and the benchmark read them). */

/** Arrivals per second between the 10th and the 90th percentile arrival: the rate without ramp-up and tail. */
export function steadyRate(times: readonly number[]): number | null {
  const sorted = [...times].sort((a, b) => a - b);
  const from = Math.floor(sorted.length * 0.1);
  const to = Math.ceil(sorted.length * 0.9) - 1;
  const span = (sorted[to] ?? 0) - (sorted[from] ?? 0);
  return to > from && span > 0 ? ((to - from) / span) * 1000 : null;
}

/** The largest number of arrivals in any window of `windowMs` (two-pointer sweep over sorted times). */
export function maxInSlidingWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while ((sorted[end] as number) - (sorted[start] as number) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
