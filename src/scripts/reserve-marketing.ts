import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** reserve-marketing.lua. */
export const MarketingVerdict = { Granted: 0, Capped: 1, Resting: 2 } as const;
export type MarketingVerdict = (typeof MarketingVerdict)[keyof typeof MarketingVerdict];

export interface ReserveMarketing {
  /** The recipient's marketing messages in the window, and their rest. */
  keys: { sent: string; rest: string };
  requestId: string;
  /** Epoch ms. */
  now: number;
  /** FREQUENCY_CAP's count; 0: no cap (only the rest is checked). */
  max: number;
  windowMs: number;
}

const call = script<[MarketingVerdict, number]>('reserve-marketing');

/**
 * Takes one of a recipient's marketing places for a message (reserve-marketing.lua): granted, capped, or
 * resting with the ms left of the rest.
 */
export async function reserveMarketing(
  client: Redis,
  input: ReserveMarketing,
): Promise<{ verdict: MarketingVerdict; restMs: number }> {
  const [verdict, restMs] = await call(
    client,
    [input.keys.sent, input.keys.rest],
    [input.requestId, input.now, input.max, input.windowMs],
  );
  return { verdict, restMs };
}
