import type { Redis } from 'ioredis';
import { billableArg, type DeliveryChange } from './apply-delivery.js';
import { script, type Arg } from './loader.js';

/** apply-deliveries.lua, per row. */
export const DeliveriesVerdict = {
  NoMessage: -1,
  NotFurther: 0,
  Applied: 1,
  Orphaned: 2,
  OrphanRefused: 3,
  KnownNow: 4,
} as const;
export type DeliveriesVerdict = (typeof DeliveriesVerdict)[keyof typeof DeliveriesVerdict];

export interface DeliveryRow {
  /**
   * The message record, its campaign's counters and per-minute counts when the message is known (located), else
   * undefined.
   */
  message: { messageKey: string; campaignKey: string; minutesKey: string } | undefined;
  messageIdKey: string;
  orphanKey: string;
  messageId: string;
  update: DeliveryChange;
  /** The update's state's rank. */
  rank: number;
}

export interface ApplyDeliveries {
  /** The fleet's metrics hash, the change feed, the orphan index; `anyKey` stands in for a row's unknown message. */
  keys: { metrics: string; archive: string; orphans: string; anyKey: string };
  /** Every state's rank as JSON ({"sent":1,...}). */
  ranks: string;
  /** Where the request_id starts in the record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
  /** Epoch ms. */
  now: number;
  orphanTtlSeconds: number;
  orphanRows: number;
  orphanIds: number;
  rows: readonly DeliveryRow[];
}

const call = script<Array<number | string>>('apply-deliveries');

/** Applies a batch's status rows in one script run (apply-deliveries.lua): a verdict and the state before, per row. */
export async function applyDeliveries(
  client: Redis,
  input: ApplyDeliveries,
): Promise<Array<{ verdict: DeliveriesVerdict; previous: string | null }>> {
  if (input.rows.length === 0) return [];
  const k = input.keys;
  const keys = [k.metrics, k.archive, k.orphans];
  const argv: Arg[] = [input.ranks, input.idFrom, input.now, input.orphanTtlSeconds, input.orphanRows, input.orphanIds];
  for (const row of input.rows) {
    const u = row.update;
    keys.push(
      row.message?.messageKey ?? k.anyKey,
      row.message?.campaignKey ?? k.anyKey,
      row.messageIdKey,
      row.orphanKey,
      row.message?.minutesKey ?? k.anyKey,
    );
    argv.push(
      row.message ? 1 : 0,
      row.messageId,
      u.status,
      row.rank,
      u.at,
      u.errorCode ?? '',
      u.error ?? '',
      u.lossStep ?? '',
      u.lossSource ?? '',
      JSON.stringify(u),
      billableArg(u),
    );
  }
  const reply = await call(client, keys, argv);
  const out: Array<{ verdict: DeliveriesVerdict; previous: string | null }> = [];
  for (let i = 0; i < reply.length; i += 2)
    out.push({ verdict: Number(reply[i]) as DeliveriesVerdict, previous: reply[i + 1] ? String(reply[i + 1]) : null });
  return out;
}
