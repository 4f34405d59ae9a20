import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** reserve-marketing.lua. */
export const MarketingVerdict = { Granted: 0, Capped: 1, Resting: 2, NotPending: 3 } as const;
export type MarketingVerdict = (typeof MarketingVerdict)[keyof typeof MarketingVerdict];

export interface ReserveMarketing {
  /** The recipient's marketing messages in the window, their rest, and the message's record. */
  keys: { sent: string; rest: string; message: string };
  requestId: string;
  /** Epoch ms. */
  now: number;
  /** FREQUENCY_CAP's count; 0: no cap (only the rest is checked). */
  max: number;
  windowMs: number;
}

const call = script<[MarketingVerdict, number]>('reserve-marketing');

/**
 * Takes one of a recipient's marketing places for a message (reserve-marketing.lua): granted, capped,
 * resting with the ms left of the rest, or not pending (settled or in flight: the send grant decides).
 */
export async function reserveMarketing(
  client: Redis,
  input: ReserveMarketing,
): Promise<{ verdict: MarketingVerdict; restMs: number }> {
  const [verdict, restMs] = await call(
    client,
    [input.keys.sent, input.keys.rest, input.keys.message],
    [input.requestId, input.now, input.max, input.windowMs],
  );
  return { verdict, restMs };
}
