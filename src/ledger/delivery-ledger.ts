import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CallbackRow } from '../engagelab/callbacks.js';
import { requestIdArgOf } from '../engagelab/request-id-arg.js';
import type { DeadJobData } from '../queue.js';
import { dropDeadLetter } from './dead-letters.js';
import { DELIVERY_RANK, deliveryOf, type DeliveryStatus, type DeliveryUpdate } from './delivery.js';
import type { Ledger } from './ledger.js';

/**
 * Rows for a message_id the ledger does not know are kept an hour (the callback may beat the worker's write of
 * the message_id), at most ORPHAN_ROWS per message_id (its sent, delivered, read or failure, and a repeat or
 * two) and ORPHAN_IDS message_ids in all (about 10 MB): rows for messages wa-bulk never sent (an account
 * shared with another sender, a forger) cannot fill Redis. Rows beyond are dropped and counted.
 */
export const ORPHAN_TTL_S = 3600;
export const ORPHAN_ROWS = 8;
export const ORPHAN_IDS = 20_000;
const ORPHAN_BOUNDS = { ttlSeconds: ORPHAN_TTL_S, rows: ORPHAN_ROWS, ids: ORPHAN_IDS };

export type ApplyResult = 'applied' | 'ignored' | 'orphaned' | 'orphan_dropped' | 'no_delivery';

/** What applying a row did; an applied one also says to which campaign, and the state it moved from. */
export interface Applied {
  result: ApplyResult;
  campaign?: string;
  update?: DeliveryUpdate;
  previous?: DeliveryStatus | null;
  /** The row taught the ledger its message's message_id: the message was pending or dead, and is sent. */
  learned?: { requestId: string; previous: 'pending' | 'dead' };
}

type Learned = { requestId: string; campaign: string; previous: 'pending' | 'dead' };

/**
 * Applies status rows to the ledger (matched by message_id), a batch's rows in one script run
 * (Ledger.applyDeliveries), and keeps rows for a message_id the ledger does not know yet (see `adopt`).
 *
 * With the dead-letter queue (the callback worker), a row for an unknown message_id whose custom_args name a
 * request_id (wa_bulk_request_id) first asks the ledger to learn that message_id: a message whose request's
 * answer was lost (dead with unknown_outcome, or pending after a request) becomes sent, and its dead letter
 * is dropped.
 */
export class DeliveryLedger {
  constructor(
    private readonly client: Redis,
    private readonly ledger: Ledger,
    private readonly dead?: Queue<DeadJobData>,
  ) {}

  async apply(row: CallbackRow): Promise<Applied> {
    return (await this.applyMany([row]))[0] as Applied;
  }

  /** Applies status rows in their order; what each did, in the same order. */
  async applyMany(rows: readonly CallbackRow[], again = true): Promise<Applied[]> {
    const results: Applied[] = rows.map(() => ({ result: 'no_delivery' }));
    const items: Array<{ index: number; messageId: string; update: DeliveryUpdate; row: CallbackRow }> = [];
    rows.forEach((row, index) => {
      const update = deliveryOf(row);
      if (update && row.message_id) items.push({ index, messageId: row.message_id, update, row });
    });
    if (items.length === 0) return results;
    const located = await this.ledger.locateMany(items.map((item) => item.messageId));
    const learned: Array<Learned | undefined> = [];
    for (const [i, item] of items.entries()) learned.push(located[i] ? undefined : await this.learn(item.row));
    const applied = await this.ledger.applyDeliveries(
      items.map((item, i) => ({ message: located[i] ?? learned[i], messageId: item.messageId, update: item.update })),
      ORPHAN_BOUNDS,
    );
    const knownNow: number[] = [];
    for (const [i, item] of items.entries()) {
      const { result, previous } = applied[i] as (typeof applied)[number];
      const message = located[i] ?? learned[i];
      const l = learned[i];
      const how = l && { learned: { requestId: l.requestId, previous: l.previous } };
      if (result === 'known_now') knownNow.push(i);
      results[item.index] =
        result === 'applied'
          ? { result: 'applied', campaign: message?.campaign, update: item.update, previous, ...how }
          : result === 'orphaned'
            ? { result: 'orphaned' }
            : result === 'orphan_refused'
              ? { result: 'orphan_dropped' }
              : { result: 'ignored', ...how };
    }
    // Rows whose message_id was recorded between the lookup and the script: located now.
    if (knownNow.length > 0 && again) {
      const retried = await this.applyMany(
        knownNow.map((i) => (items[i] as (typeof items)[number]).row),
        false,
      );
      knownNow.forEach((i, j) => (results[(items[i] as (typeof items)[number]).index] = retried[j] as Applied));
    }
    return results;
  }

  /** The row's message, when the ledger learns its message_id from the row's custom_args. */
  private async learn(row: CallbackRow): Promise<Learned | undefined> {
    const requestId = requestIdArgOf(row);
    if (!this.dead || requestId === undefined || !row.message_id) return undefined;
    const learned = await this.ledger.learnMessageId(requestId, row.message_id);
    if (!learned) return undefined;
    // A dead letter may exist for it even when it was pending: a worker between its two writes.
    await dropDeadLetter(this.dead, requestId);
    if (learned.orphans) await this.adopt(row.message_id, requestId, learned.campaign);
    return { requestId, campaign: learned.campaign, previous: learned.previous };
  }

  /** Applies the rows kept for a message_id that has just been recorded as sent. */
  async adopt(messageId: string, requestId: string, campaign: string): Promise<number> {
    const key = this.ledger.keys.orphan(messageId);
    const [[, kept] = []] =
      (await this.client.multi().lrange(key, 0, -1).del(key).zrem(this.ledger.keys.orphans, messageId).exec()) ?? [];
    let applied = 0;
    for (const text of (kept as string[] | undefined) ?? []) {
      const update = keptUpdate(text);
      if (update && (await this.ledger.applyDelivery({ requestId, campaign }, update))) applied++;
    }
    return applied;
  }
}

/**
 * An orphan as apply-deliveries.lua keeps it (the update), or as wa-bulk kept it before (the whole row); undefined
 * for anything else.
 */
function keptUpdate(text: string): DeliveryUpdate | undefined {
  try {
    const value = JSON.parse(text) as Partial<DeliveryUpdate> & Partial<CallbackRow>;
    if (value.status && typeof value.status === 'object') return deliveryOf(value as CallbackRow);
    if (typeof value.status !== 'string' || !Object.hasOwn(DELIVERY_RANK, value.status)) return undefined;
    if (typeof value.at !== 'number' || !Number.isFinite(value.at)) return undefined;
    return value as DeliveryUpdate;
  } catch {
    return undefined;
  }
}
