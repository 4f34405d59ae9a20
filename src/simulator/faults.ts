import type { FaultRates } from './options.js';

/** The simulator's injected faults: which one (if any) a request meets, from seeded randomness. */

export type FaultKind = keyof FaultRates | 'auth';

/** mulberry32: small, fast and good enough for fault injection. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fault rates: given one by one, or a total failRate spread evenly over the five kinds. */
export function spreadFaults(failRate: number | undefined, faults: FaultRates | undefined): FaultRates {
  if (faults) return { ...faults };
  if (!failRate) return {};
  const each = failRate / 5;
  return { error1000: each, html503: each, rateLimit: each, reset: each, slow: each };
}

/** The fault a request meets, or undefined: one draw against the rates' running sum. */
export function pickFault(faults: FaultRates, random: () => number): FaultKind | undefined {
  const r = random();
  let acc = 0;
  for (const [kind, rate] of Object.entries(faults) as Array<[keyof FaultRates, number | undefined]>) {
    acc += rate ?? 0;
    if (r < acc) return kind;
  }
  return undefined;
}

/**
 * What a request that meets a fault gets (as EngageLab, or a proxy before it, would answer), or 'reset' for a
 * dropped connection. `slow` is not here: it is accepted, and answered late.
 */
export function faultAnswer(
  fault: Exclude<FaultKind, 'slow'>,
  retryAfterSeconds = 1,
): { status: number; body: unknown; headers?: Record<string, string> } | 'reset' {
  switch (fault) {
    case 'auth':
      return { status: 401, body: { code: 2002, message: 'token expired or disabled' } };
    case 'error1000':
      return { status: 500, body: { code: 1000, message: 'internal error' } };
    case 'html503':
      return {
        status: 503,
        body: '<html><head><title>503 Service Unavailable</title></head><body>upstream unavailable</body></html>',
      };
    case 'rateLimit':
      return {
        status: 429,
        body: { code: 429, message: 'too many requests' },
        headers: { 'Retry-After': String(retryAfterSeconds) },
      };
    case 'reset':
      return 'reset';
  }
}
