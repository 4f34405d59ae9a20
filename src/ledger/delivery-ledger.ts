import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { CallbackRow } from '../engagelab/callbacks.js';
import { requestIdArgOf } from '../engagelab/request-id-arg.js';
import type { DeadJobData } from '../queue.js';
import { dropDeadLetter } from './dead-letters.js';
import { deliveryOf, type DeliveryStatus, type DeliveryUpdate } from './delivery.js';
import type { Ledger } from './ledger.js';

const ORPHAN_TTL_S = 3600;

export type ApplyResult = 'applied' | 'ignored' | 'orphaned' | 'no_delivery';

/** What applying a row did; an applied one also says to which campaign, and the state it moved from. */
export interface Applied {
  result: ApplyResult;
  campaign?: string;
  update?: DeliveryUpdate;
  previous?: DeliveryStatus | null;
  /** The row taught the ledger its message's message_id: the message was pending or dead, and is sent. */
  learned?: { requestId: string; previous: 'pending' | 'dead' };
}

/**
 * Applies status rows to the ledger (matched by message_id), and keeps rows for a message_id the ledger
 * does not know yet for an hour: the callback can beat the worker's write of the message_id (see `adopt`).
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

  private orphanKey(messageId: string): string {
    return this.ledger.keys.orphan(messageId);
  }

  /** Applies status rows in their order; what each did, in the same order. */
  async applyMany(rows: readonly CallbackRow[]): Promise<Applied[]> {
    const results: Applied[] = [];
    for (const row of rows) results.push(await this.apply(row));
    return results;
  }

  async apply(row: CallbackRow): Promise<Applied> {
    const update = deliveryOf(row);
    if (!update || !row.message_id) return { result: 'no_delivery' };
    const located = await this.ledger.locate(row.message_id);
    const learned = located ? undefined : await this.learn(row);
    const message = located ?? learned;
    if (!message) {
      await this.client
        .multi()
        .rpush(this.orphanKey(row.message_id), JSON.stringify(row))
        .expire(this.orphanKey(row.message_id), ORPHAN_TTL_S)
        .exec();
      return { result: 'orphaned' };
    }
    const applied = await this.ledger.applyDelivery(message, update);
    const how = learned && { learned: { requestId: learned.requestId, previous: learned.previous } };
    return applied
      ? { result: 'applied', campaign: message.campaign, update, previous: applied.previous, ...how }
      : { result: 'ignored', ...how };
  }

  /** The row's message, when the ledger learns its message_id from the row's custom_args. */
  private async learn(
    row: CallbackRow,
  ): Promise<{ requestId: string; campaign: string; previous: 'pending' | 'dead' } | undefined> {
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
    const key = this.orphanKey(messageId);
    const rows = await this.client.lrange(key, 0, -1);
    if (rows.length === 0) return 0;
    await this.client.del(key);
    let applied = 0;
    for (const text of rows) {
      const update = deliveryOf(JSON.parse(text) as CallbackRow);
      if (update && (await this.ledger.applyDelivery({ requestId, campaign }, update))) applied++;
    }
    return applied;
  }
}
