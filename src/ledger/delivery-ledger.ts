import type { Redis } from 'ioredis';
import type { CallbackRow } from '../engagelab/callbacks.js';
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
}

/**
 * Applies status rows to the ledger (matched by message_id), and keeps rows for a message_id the ledger
 * does not know yet for an hour: the callback can beat the worker's write of the message_id (see `adopt`).
 */
export class DeliveryLedger {
  constructor(
    private readonly client: Redis,
    private readonly ledger: Ledger,
  ) {}

  private orphanKey(messageId: string): string {
    return this.ledger.keys.orphan(messageId);
  }

  async apply(row: CallbackRow): Promise<Applied> {
    const update = deliveryOf(row);
    if (!update || !row.message_id) return { result: 'no_delivery' };
    const message = await this.ledger.locate(row.message_id);
    if (!message) {
      await this.client
        .multi()
        .rpush(this.orphanKey(row.message_id), JSON.stringify(row))
        .expire(this.orphanKey(row.message_id), ORPHAN_TTL_S)
        .exec();
      return { result: 'orphaned' };
    }
    const applied = await this.ledger.applyDelivery(message, update);
    return applied
      ? { result: 'applied', campaign: message.campaign, update, previous: applied.previous }
      : { result: 'ignored' };
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
