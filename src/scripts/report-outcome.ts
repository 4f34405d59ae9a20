import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface ReportOutcome {
  /** The breaker's hash, the hold, the half-open probe. */
  keys: { breaker: string; hold: string; probe: string };
  outcome: 'ok' | 'fail';
  /** Consecutive failures that open the breaker, and its first and longest cool-downs. */
  threshold: number;
  cooldownMs: number;
  cooldownMaxMs: number;
  /** The request was the half-open probe. */
  probe: boolean;
  /** The request cannot have been accepted: its message's in-flight mark and its pair key go. */
  notSent?: { messageKey: string; pairKey: string } | undefined;
  /** Epoch ms. */
  now: number;
}

const call = script<number>('report-outcome');

/** How a request went, for the outage breaker (report-outcome.lua): the cool-down started (ms), or 0. */
export function reportOutcome(client: Redis, input: ReportOutcome): Promise<number> {
  const { keys: k, notSent } = input;
  return call(
    client,
    // Without a message not sent, its two keys are the breaker's again (any key of the slot does).
    [k.breaker, k.hold, k.probe, notSent?.messageKey ?? k.breaker, notSent?.pairKey ?? k.breaker],
    [
      input.outcome,
      input.threshold,
      input.cooldownMs,
      input.cooldownMaxMs,
      input.probe ? '1' : '0',
      notSent ? '1' : '0',
      input.now,
    ],
  );
}
