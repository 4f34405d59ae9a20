import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** apply-delivery.lua. */
export const DeliveryVerdict = { NoMessage: -1, NotFurther: 0, Applied: 1 } as const;
export type DeliveryVerdict = (typeof DeliveryVerdict)[keyof typeof DeliveryVerdict];

/** A delivery state a callback reported (src/ledger/delivery.ts's DeliveryUpdate). */
export interface DeliveryChange {
  status: string;
  /** Epoch ms. */
  at: number;
  errorCode: number | null;
  error: string | null;
  lossStep: number | null;
  lossSource: string | null;
  /** A billable message's pricing from the callback (absent or null: none, or not billable). */
  billable?: { category: string; country: string } | null;
}

/** The scripts' `billable` argument: '<category>:<country>', or '' for none. */
export const billableArg = (u: DeliveryChange) => (u.billable ? `${u.billable.country}:${u.billable.category}` : '');

export interface ApplyDelivery {
  /** The message record, its campaign's counters, the fleet's metrics hash, the change feed, the campaign's minutes. */
  keys: { message: string; campaign: string; metrics: string; archive: string; minutes: string };
  update: DeliveryChange;
  /** The update's state's rank, and every state's rank as JSON ({"sent":1,...}). */
  rank: number;
  ranks: string;
  /** Where the request_id starts in the record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
}

const call = script<[DeliveryVerdict, string]>('apply-delivery');

/**
 * Moves the message's delivery state forward (apply-delivery.lua): whether it did, and the state before (null
 * for none).
 */
export async function applyDelivery(
  client: Redis,
  input: ApplyDelivery,
): Promise<{ verdict: DeliveryVerdict; previous: string | null }> {
  const { keys: k, update: u } = input;
  const [verdict, previous] = await call(
    client,
    [k.message, k.campaign, k.metrics, k.archive, k.minutes],
    [
      u.status,
      input.rank,
      u.at,
      u.errorCode ?? '',
      u.error ?? '',
      u.lossStep ?? '',
      u.lossSource ?? '',
      input.ranks,
      input.idFrom,
      billableArg(u),
    ],
  );
  return { verdict, previous: previous === '' ? null : previous };
}
