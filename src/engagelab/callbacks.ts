import { z } from 'zod';
import { BSUID_RULE, isBsuid, looksLikeBsuid } from '../messages/identity.js';

/**
 * EngageLab's delivery callbacks, as they arrive (EngageLab's "Message status callback" documentation):
 * EngageLab POSTs `{"total": n, "rows": [...]}`; each row has a `message_id` and exactly one of `status`,
 * `response` or `notification`, and rows may come late, twice, or out of order (a `read` before its
 * `delivered`).
 */

const statusRow = z.looseObject({
  message_status: z.string(),
  error_code: z.union([z.number(), z.string()]).optional(),
  error_detail: z.looseObject({ message: z.string().optional() }).optional(),
  loss: z
    .looseObject({ loss_step: z.union([z.number(), z.string()]).optional(), loss_source: z.string().optional() })
    .optional(),
  /**
   * Meta's pricing of the message (on its sent and delivered reports) and the recipient's country. A part not of
   * this shape is dropped, not the row: the delivery state it reports still counts.
   */
  status_data: z
    .looseObject({
      country_code: z.string().optional().catch(undefined),
      pricing: z
        .looseObject({
          billable: z.boolean().optional(),
          category: z.string().optional(),
          type: z.string().optional(),
        })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});

const notificationRow = z.looseObject({
  event: z.string(),
  notification_data: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A party of a row (`from`, `to`): a number as before (up to 32 characters), or a user's business-scoped id
 * (Meta's BSUID, since 2026), which is longer and is checked by its shape.
 */
const party = z.union([
  z.string().refine((s) => isBsuid(s) || (s.length <= 32 && !looksLikeBsuid(s)), {
    error: `expected a phone number (up to 32 characters) or a business-scoped user id: ${BSUID_RULE}`,
  }),
  z.number(),
]);
/** A user's business-scoped id in a field of its own (EngageLab does not document one: Meta's names are read). */
const userId = z.string().refine(isBsuid, { error: BSUID_RULE });

export const callbackRowSchema = z
  .looseObject({
    message_id: z.string().max(128).optional(),
    /** The business number on a status row, the user on an inbound (response) row. */
    from: party.optional(),
    to: party.optional(),
    /** The user's business-scoped id: `user_id` (Meta's contacts), `from_user_id` (inbound), `recipient_user_id` (status). */
    user_id: userId.optional(),
    from_user_id: userId.optional(),
    recipient_user_id: userId.optional(),
    itime: z.number().optional(),
    /** The custom_args given at send time, echoed (wa-bulk's request_id among them); anything else is dropped. */
    custom_args: z.record(z.string(), z.unknown()).optional().catch(undefined),
    status: statusRow.optional(),
    response: z.looseObject({ event: z.string().optional() }).optional(),
    notification: notificationRow.optional(),
  })
  .refine((row) => [row.status, row.response, row.notification].filter((part) => part !== undefined).length === 1, {
    error: 'each row needs exactly one of "status", "response" or "notification"',
  })
  .refine(
    (row) => row.notification !== undefined || (typeof row.message_id === 'string' && row.message_id.length > 0),
    {
      error: 'a status or response row needs a "message_id"',
    },
  );

/**
 * A batch's envelope: its rows are checked one by one (src/engagelab/callback-rows.ts), so that a row the
 * receiver does not understand never costs the others. `total` is EngageLab's count, not relied on.
 */
export const callbackBatchSchema = z.looseObject({
  total: z.unknown().optional(),
  rows: z.array(z.unknown()).min(1).max(10_000),
});

/** EngageLab's `status.message_status` values; any other is counted as unknown. */
export const MESSAGE_STATUSES: ReadonlySet<string> = new Set([
  'plan',
  'target_valid',
  'target_invalid',
  'sent',
  'delivered',
  'read',
  'sent_failed',
  'delivered_failed',
  'delivered_timeout',
]);

/** EngageLab's `response.event` values (inbound messages); any other is counted as unknown. */
export const RESPONSE_EVENTS: ReadonlySet<string> = new Set(['received', 'reply', 'order', 'deleted']);

export type CallbackRow = z.infer<typeof callbackRowSchema>;
export type CallbackBatch = z.infer<typeof callbackBatchSchema>;
