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

/** What `GET /_simulator/stats?window_ms=N` adds: the busiest window and the steady rate, overall and per sender. */
export function arrivalReport(
  arrivals: readonly number[],
  byFrom: ReadonlyMap<string, readonly number[]>,
  windowMs: number,
) {
  return {
    window_ms: windowMs,
    max_in_window: maxInSlidingWindow(arrivals, windowMs),
    first_ms: arrivals[0],
    last_ms: arrivals.at(-1),
    arrivals: arrivals.length,
    steady_per_second: steadyRate(arrivals),
    by_from: Object.fromEntries(
      [...byFrom].map(([from, times]) => [
        from,
        {
          arrivals: times.length,
          max_in_window: maxInSlidingWindow(times, windowMs),
          steady_per_second: steadyRate(times),
        },
      ]),
    ),
  };
}
