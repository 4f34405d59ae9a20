import { z } from 'zod';

/**
 * The events wa-bulk sends to webhook endpoints: one schema per event type (Standard Webhooks: "one event
 * type, one schema"). Every body is `{"type", "timestamp", "data"}`; a batched request's body is
 * `{"type": "batch", "timestamp", "data": [event, …]}`, each event with its own `id` (docs/webhooks.md).
 * Fields may be added to a `data` object; those named here do not change.
 */

const iso = z.string().describe('ISO 8601 time');

/** A message's record, as `wa-bulk result --json` prints it (src/ledger/records.ts: MessageRecord). */
export const messageRecordSchema = z.object({
  request_id: z.string(),
  campaign: z.string(),
  to: z.string(),
  status: z.enum(['pending', 'sent', 'dead', 'skipped']),
  message_id: z.string().nullable(),
  error: z
    .object({
      code: z.number().nullable(),
      http_status: z.number().nullable(),
      reason: z.string(),
      message: z.string(),
    })
    .nullable(),
  attempts: z.number(),
  updated_at: iso,
  delivery: z
    .object({
      status: z.enum(['sent', 'failed', 'delivered', 'read']),
      at: iso.nullable(),
      error_code: z.number().nullable(),
    })
    .nullable(),
  /** The message's custom_args as it was sent, without wa-bulk's own; absent when it had none. */
  custom_args: z.record(z.string(), z.unknown()).optional(),
});

export const messageRepliedSchema = z.object({
  /** The message the reply answers. */
  request_id: z.string(),
  campaign: z.string(),
  message_id: z.string(),
  /** Who wrote: their number, or their business-scoped user id when the callback named no number. */
  from: z.string(),
  /** The reply's text, when it had one (at most 4,096 characters). */
  text: z.string().nullable(),
  received_at: iso,
});

export const contactOptedOutSchema = z.object({
  /** The number (or business-scoped user id) that opted out. */
  user: z.string(),
  /** Every identity suppressed with it (a number and the user id it is linked to). */
  suppressed: z.array(z.string()),
  /** The opt-out keyword the user sent. */
  keyword: z.string(),
  received_at: iso,
});

export const campaignEventSchema = z.object({ id: z.string() });
export const campaignPausedSchema = z.object({ id: z.string(), reason: z.string() });
export const campaignCancelledSchema = z.object({ id: z.string(), skipped: z.number() });
/** The campaign as `status --json` shows it (its counters, state and settings). */
export const campaignDoneSchema = z.looseObject({
  id: z.string(),
  total: z.number(),
  sent: z.number(),
  dead: z.number(),
  skipped: z.number(),
  state: z.string(),
});

export const sendingPausedSchema = z.object({ reason: z.string() });
export const sendingResumedSchema = z.object({});

export const webhookDisabledSchema = z.object({
  endpoint: z.string(),
  url: z.string(),
  /** `gone` (the endpoint answered 410) or `failing` (every delivery failed for WEBHOOK_DISABLE_AFTER_MS). */
  reason: z.enum(['gone', 'failing']),
});

/** Sent only by `wa-bulk webhooks test` and POST /api/webhooks/:id/test, to the one endpoint. */
export const webhookTestSchema = z.object({ endpoint: z.string() });

export const EVENT_SCHEMAS = {
  'message.sent': messageRecordSchema,
  'message.dead': messageRecordSchema,
  'message.skipped': messageRecordSchema,
  'message.delivered': messageRecordSchema,
  'message.read': messageRecordSchema,
  'message.failed': messageRecordSchema,
  'message.replied': messageRepliedSchema,
  'contact.opted_out': contactOptedOutSchema,
  'campaign.started': campaignEventSchema,
  'campaign.paused': campaignPausedSchema,
  'campaign.resumed': campaignEventSchema,
  'campaign.cancelled': campaignCancelledSchema,
  'campaign.done': campaignDoneSchema,
  'sending.paused': sendingPausedSchema,
  'sending.resumed': sendingResumedSchema,
  'webhook.disabled': webhookDisabledSchema,
  'webhook.test': webhookTestSchema,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

/** The envelope of one event. */
export const eventSchema = z.object({
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  timestamp: iso,
  data: z.unknown(),
});

/** A batched request's body: the events, each with the id it would carry alone in `webhook-id`. */
export const batchSchema = z.object({
  type: z.literal('batch'),
  timestamp: iso,
  data: z.array(eventSchema.extend({ id: z.string() })),
});

export type WebhookEvent = { id: string; type: EventType; timestamp: string; data: unknown };
