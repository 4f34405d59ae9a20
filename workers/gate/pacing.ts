/**
 * The pace of the send gate: a GCRA ("generic cell rate algorithm") whose one Redis key holds the
 * theoretical arrival time TAT of the next request (src/scripts/grant-sends.lua).
 *
 * Requests are granted while TAT ≤ now + burstMs, each grant moving TAT on by spacingMs, so any span of T ms
 * holds at most ⌊(T + burstMs) / spacingMs⌋ + 1 grants. A granted request leaves at its grant's time, and a
 * grant that reaches its process more than tripMs after that is given again for a new time (moving TAT on
 * as a new grant does) or handed back (see clock.ts, send-gate.ts), so a request leaves within tripMs of its
 * grant; spacingMs = (windowMs + burstMs + tripMs) / max (and a hair) then keeps
 * any window of windowMs to at most `max` requests as they leave the workers. Burst and trip cost
 * (burstMs + tripMs) / windowMs of the limit between them: 3% at 1 s windows. A grant's time is Redis's now,
 * or later for a process whose answers lag (clock.ts, lead): the bound holds for any such times.
 */
export interface Pacing {
  /** How far ahead of its theoretical arrival time a grant may be given (a late process catches up). */
  burstMs: number;
  /** How long a grant may take to reach its request; a later one is handed back. */
  tripMs: number;
  /** Milliseconds between two grants. */
  spacingMs: number;
  /** The shortest sleep between two asks: grants come several at a time (never more than burstMs late). */
  minSleepMs: number;
  /** The largest lead a lagging process may ask for (clock.ts). */
  maxLeadMs: number;
}

export function pacingFor(max: number, windowMs: number): Pacing {
  // 15 ms each (measured: 20/10 let the busiest window pass 1.0 ×, 10/20 cost CPU in more asks).
  const burstMs = Math.max(15, Math.ceil(windowMs * 0.015));
  const tripMs = Math.max(15, Math.ceil(windowMs * 0.015));
  return {
    burstMs,
    tripMs,
    // Strictly more than (window + burst + trip) / max: see the bound above.
    spacingMs: (windowMs + burstMs + tripMs) / max + 0.001,
    minSleepMs: Math.min(10, (burstMs * 2) / 3),
    maxLeadMs: windowMs / 4,
  };
}
