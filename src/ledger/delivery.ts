import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Ledger } from './ledger.js';

/**
 * Delivery callbacks (EngageLab's "Message status callback" documentation): EngageLab POSTs
 * `{"total": n, "rows": [...]}`; each row has a `message_id` and exactly one of `status`, `response` or
 * `notification`, and rows may come late, twice, or out of order (a `read` before its `delivered`).
 *
 * A message's delivery only moves forward: sent (1) → failed (2) → delivered (3) → read (4), decided by
 * the ledger's apply-delivery script with DELIVERY_RANK. A failure
 * report cannot undo proof of delivery, and a later "delivered" or "read" overrides an earlier failure,
 * because the recipient's phone confirmed it. Rows that say nothing about delivery (plan, target_valid,
 * delivered_timeout) change nothing.
 */

export type DeliveryStatus = 'sent' | 'failed' | 'delivered' | 'read';
export const DELIVERY_RANK: Readonly<Record<DeliveryStatus, number>> = Object.freeze({ sent: 1, failed: 2, delivered: 3, read: 4 });

const STATUS_OF: Record<string, DeliveryStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  sent_failed: 'failed',
  delivered_failed: 'failed',
  target_invalid: 'failed',
};

const statusRow = z.looseObject({
  message_status: z.string(),
  error_code: z.union([z.number(), z.string()]).optional(),
  error_detail: z.looseObject({ message: z.string().optional() }).optional(),
  loss: z.looseObject({ loss_step: z.union([z.number(), z.string()]).optional(), loss_source: z.string().optional() }).optional(),
});

const notificationRow = z.looseObject({
  event: z.string(),
  notification_data: z.record(z.string(), z.unknown()).optional(),
});

export const callbackRowSchema = z
  .looseObject({
    message_id: z.string().max(128).optional(),
    /** The business number on a status row, the user on an inbound (response) row. */
    from: z.union([z.string().max(32), z.number()]).optional(),
    to: z.union([z.string().max(32), z.number()]).optional(),
    itime: z.number().optional(),
    status: statusRow.optional(),
    response: z.looseObject({ event: z.string().optional() }).optional(),
    notification: notificationRow.optional(),
  })
  .refine((row) => [row.status, row.response, row.notification].filter((part) => part !== undefined).length === 1, {
    error: 'each row needs exactly one of "status", "response" or "notification"',
  })
  .refine((row) => row.notification !== undefined || (typeof row.message_id === 'string' && row.message_id.length > 0), {
    error: 'a status or response row needs a "message_id"',
  });

export const callbackBatchSchema = z.looseObject({
  total: z.number().int().nonnegative().optional(),
  rows: z.array(callbackRowSchema).min(1).max(10_000),
});

export type CallbackRow = z.infer<typeof callbackRowSchema>;
export type CallbackBatch = z.infer<typeof callbackBatchSchema>;

export interface DeliveryUpdate {
  status: DeliveryStatus;
  /** Epoch milliseconds. */
  at: number;
  errorCode: number | null;
  error: string | null;
  lossStep: number | null;
  lossSource: string | null;
}

const toNumber = (value: unknown): number | null => (value === undefined || value === null || value === '' || Number.isNaN(Number(value)) ? null : Number(value));

/** The delivery a status row reports, or undefined when it reports none. */
export function deliveryOf(row: CallbackRow, nowMs = Date.now()): DeliveryUpdate | undefined {
  if (!row.status) return undefined;
  const status = STATUS_OF[row.status.message_status];
  if (!status) return undefined;
  const errorCode = toNumber(row.status.error_code);
  return {
    status,
    at: row.itime !== undefined ? row.itime * 1000 : nowMs,
    errorCode: status === 'failed' ? errorCode : null,
    error: status === 'failed' ? (row.status.error_detail?.message ?? null) : null,
    lossStep: status === 'failed' ? toNumber(row.status.loss?.loss_step) : null,
    lossSource: status === 'failed' ? (row.status.loss?.loss_source ?? null) : null,
  };
}

/**
 * The messaging limit a tier of EngageLab's phone_number_update names (TIER_50 … TIER_UNLIMITED, and the
 * newer 2K), as MESSAGING_LIMIT=auto uses it: distinct recipients in a moving 24 hours; -1 is unlimited.
 */
export function tierLimit(tier: string): number | undefined {
  if (tier === 'TIER_UNLIMITED') return -1;
  const match = /^TIER_(\d+)(K?)$/.exec(tier);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === 'K' ? 1000 : 1);
}

/** What a notification row means for sending: a reason to pause, something to record, or nothing. */
export function notificationEffect(row: CallbackRow, templatesInUse: (name: string, language: string | undefined) => boolean | Promise<boolean>): Promise<{ pause?: string; record?: Record<string, string> }> {
  return (async () => {
    const n = row.notification;
    if (!n) return {};
    const data = (n.notification_data ?? {}) as Record<string, unknown>;
    const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
    switch (n.event) {
      case 'insufficient_balance':
        return { pause: `insufficient_balance: EngageLab balance ${text(data.remain_balance)} is below ${text(data.balance_threshold)}` };
      case 'whatsapp_business_update': {
        const event = text(data.waba_event);
        if (event === 'DISABLED_UPDATE' || event === 'ACCOUNT_VIOLATION') return { pause: `whatsapp_business_update: ${event}` };
        return {};
      }
      case 'template_update': {
        const status = text(data.template_status);
        const name = text(data.template_name);
        const language = data.template_language === undefined ? undefined : text(data.template_language);
        if (['PAUSED', 'DISABLED', 'REJECTED'].includes(status) && (await templatesInUse(name, language))) {
          return { pause: `template_update: ${name}${language ? ` (${language})` : ''} is ${status}` };
        }
        return {};
      }
      case 'phone_number_update': {
        const tier = text(data.current_limit);
        const limit = tierLimit(tier);
        return { record: { phone_limit: tier, phone_limit_at: String(Date.now()), ...(limit !== undefined && { messaging_limit: String(limit) }) } };
      }
      default:
        return {};
    }
  })();
}

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
      await this.client.multi().rpush(this.orphanKey(row.message_id), JSON.stringify(row)).expire(this.orphanKey(row.message_id), ORPHAN_TTL_S).exec();
      return { result: 'orphaned' };
    }
    const applied = await this.ledger.applyDelivery(message, update);
    return applied ? { result: 'applied', campaign: message.campaign, update, previous: applied.previous } : { result: 'ignored' };
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

/** The funnel of a campaign from its counters: each message counted once, at its furthest state. */
export function funnel(hash: Record<string, string>, sent: number) {
  const n = (field: string) => Number(hash[`delivery:${field}`] ?? 0);
  return { sent, delivered: n('delivered') + n('read'), read: n('read'), failed: n('failed') };
}
