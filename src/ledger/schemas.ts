import { z } from 'zod';
import { DEAD_REASONS, SKIP_REASONS } from './reasons.js';
import type { CampaignCounts, MessageRecord } from './records.js';

/**
 * The ledger's two published records as zod schemas: a message (`result --json`, an export line,
 * `GET /api/messages/:request_id`, the data of a message event) and a campaign (`status --json`'s campaign
 * object, `GET /api/campaigns/:id`, the data of a campaign event). The HTTP API's contract (src/http/openapi.ts)
 * and the webhook events (src/events/schema.ts) are generated from them; the checks at the end of this file
 * fail to compile when a schema and the TypeScript shape records.ts reads into stop describing the same thing.
 */

const count = z.number().int().nonnegative();
const time = z.iso.datetime().meta({ description: 'ISO 8601, UTC' });
const byCode = z.record(z.string(), count);

export const messageErrorSchema = z
  .object({
    code: z.number().int().nullable().meta({ description: "EngageLab's error code; null for a skipped message" }),
    http_status: z.number().int().nullable(),
    reason: z.enum([...DEAD_REASONS, ...SKIP_REASONS]).meta({
      description: `why it died (${DEAD_REASONS.join(', ')}) or was skipped (${SKIP_REASONS.join(', ')})`,
    }),
    message: z.string(),
  })
  .meta({ id: 'MessageError', description: 'Why a message died or was skipped; null for a pending or sent one.' });

export const deliverySchema = z
  .object({
    status: z.enum(['sent', 'failed', 'delivered', 'read']),
    at: time.nullable().meta({ description: 'null when the stored time is not a valid one' }),
    error_code: z.number().int().nullable(),
  })
  .meta({
    id: 'Delivery',
    description:
      "What EngageLab's status callbacks reported, at the furthest state (sent, failed, delivered, read); null until the first callback.",
  });

export const messageRecordSchema = z
  .object({
    request_id: z.string(),
    campaign: z.string(),
    to: z.string().meta({ description: 'the recipient, an international number in digits' }),
    status: z.enum(['pending', 'sent', 'dead', 'skipped']),
    message_id: z.string().nullable().meta({ description: "EngageLab's message id, once accepted" }),
    error: messageErrorSchema.nullable(),
    attempts: count.meta({ description: 'HTTP requests made for the message' }),
    updated_at: time,
    delivery: deliverySchema.nullable(),
    custom_args: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: "the custom_args it was enqueued with (without wa-bulk's own); absent when it had none" }),
    replied_at: time.optional().meta({ description: 'when the recipient first answered it; absent until then' }),
  })
  .meta({ id: 'MessageRecord', description: 'A message, as `wa-bulk result --json` prints it.' });

const costCounts = z.object({
  messages: count,
  by_country: z
    .record(z.string(), z.record(z.string(), count))
    .meta({ description: 'by recipient country (ISO 3166-1 alpha-2, or unknown), then category' }),
  by_category: z.record(z.string(), count),
});

const costEstimateSchema = z
  .object({
    at: time.meta({ description: "the time the rates were read at: the campaign's --at, else the enqueue" }),
    messages: count.meta({
      description:
        'the template messages it covers, priced or not; on a campaign, fewer than templates.messages when a later enqueue had no RATE_CARD_FILE',
    }),
    total: z.record(z.string(), z.number()).meta({ description: 'by currency' }),
    lines: z.array(
      z.object({
        country: z.string(),
        category: z.string(),
        messages: count,
        market: z.string(),
        price: z.number(),
        currency: z.string(),
        cost: z.number(),
      }),
    ),
    unpriced: z.object({
      messages: count,
      by: z.array(z.object({ country: z.string(), category: z.string(), messages: count })),
    }),
  })
  .meta({ id: 'CostEstimate', description: "What template messages cost at the rate card's prices." });

export const campaignCostSchema = z
  .object({
    templates: costCounts.meta({ description: 'template messages enqueued' }),
    estimate: costEstimateSchema
      .nullable()
      .meta({ description: 'their estimate with RATE_CARD_FILE at the latest enqueue; null without one' }),
    billable: costCounts.meta({
      description: "messages billable so far, from the delivery callbacks' pricing, each counted once",
    }),
  })
  .meta({ id: 'CampaignCost' });

export const campaignSchema = z
  .object({
    id: z.string(),
    total: count,
    sent: count,
    dead: count,
    skipped: count.meta({ description: 'never sent on purpose' }),
    skipped_by: z.object({
      expired: count,
      cancelled: count,
      suppressed: count,
      no_session: count,
      removed: count,
      frequency_cap: count,
    }),
    pending: count,
    rejected: count
      .nullable()
      .meta({ description: 'lines refused at enqueue, over every enqueue; null once only PostgreSQL holds it' }),
    delivery: z
      .object({ sent: count, delivered: count, read: count, failed: count })
      .meta({ description: 'the funnel from delivery callbacks; delivered includes read' }),
    delivery_failed_by_code: byCode,
    started_at: time.nullable(),
    finished_at: time.nullable(),
    rate: z.number().nonnegative().nullable().meta({ description: 'messages sent or dead-lettered a second' }),
    eta: time.nullable(),
    state: z.enum(['scheduled', 'sending', 'paused', 'done', 'cancelled']),
    pause_reason: z.string().nullable(),
    at: time.nullable().meta({ description: 'no message leaves before this' }),
    send_window: z.string().nullable().meta({ description: "HH:MM-HH:MM of the recipient's local time" }),
    expires_at: time.nullable(),
    priority: z.enum(['high', 'normal', 'low']),
    dead_by_code: byCode,
    archived: z.literal(true).optional().meta({ description: 'present when only PostgreSQL still holds the campaign' }),
    cost: campaignCostSchema.optional().meta({
      description: 'its template messages, their estimate and the billable ones so far; absent when it has none',
    }),
  })
  .meta({ id: 'Campaign', description: 'A campaign, as the campaign object of `wa-bulk status --json`.' });

/** True when A and B accept each other's values: a schema and the shape it describes. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <T extends true>(value: T) => value;
same<Same<z.output<typeof messageRecordSchema>, MessageRecord>>(true);
same<Same<z.output<typeof campaignSchema>, CampaignCounts>>(true);
