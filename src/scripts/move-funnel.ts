import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface MoveFunnel {
  /** The campaign's counters and the fleet's metrics hash. */
  keys: { campaign: string; metrics: string };
  /** The delivery state before (null for none), and the new one. */
  from: string | null;
  to: string;
  /** The error codes before and after, each counted when its state is 'failed' (null: none). */
  fromCode: number | null;
  toCode: number | null;
  /** The callback's billable pricing as '<country>:<category>' (billableArg), or '' for none. */
  billable: string;
}

const call = script<0 | 1>('move-funnel');

/**
 * Moves the funnel counters for a delivery update applied to a message only the long-term ledger holds
 * (move-funnel.lua): true when the campaign's counters moved, false when only the fleet's did.
 */
export async function moveFunnel(client: Redis, input: MoveFunnel): Promise<boolean> {
  return (
    (await call(
      client,
      [input.keys.campaign, input.keys.metrics],
      [input.from ?? '', input.to, input.fromCode ?? '', input.toCode ?? '', input.billable],
    )) === 1
  );
}
