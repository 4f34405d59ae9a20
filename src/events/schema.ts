import { z } from 'zod';
import { campaignSchema, messageErrorSchema, messageRecordSchema } from '../ledger/schemas.js';
import { DEAD_REASONS, SKIP_REASONS } from '../ledger/reasons.js';

/**
 * The events wa-bulk posts to webhook endpoints, one schema per event type (Standard Webhooks: "one event
 * type, one schema"). Every body is `{"type","timestamp","data"}`: `timestamp` is when the change happened
 * (the same on every retry of a delivery), and `data` is, for a message event, the message's record as
 * `result --json` prints it with the `custom_args` it was enqueued with, so that a receiver can match it to
 * its own ids. The published contract (src/http/openapi.ts) lists them under `webhooks`.
 */

const time = z.iso.datetime().meta({ description: 'ISO 8601, UTC' });

const customArgs = z.record(z.string(), z.unknown()).meta({
  description: "the message's custom_args as enqueued (without wa-bulk's own wa_bulk_request_id); {} when it had none",
});

/** A message's record with its custom_args, narrowed to what the event says about it. */
const messageData = <S extends z.ZodRawShape>(narrow: S) =>
  messageRecordSchema.extend({ custom_args: customArgs, ...narrow });

const delivered = (status: 'sent' | 'failed' | 'delivered' | 'read') =>
  z.object({ status: z.literal(status), at: time, error_code: z.number().int().nullable() });

/** Who made a change: an API key's name, `dashboard`, `cli:<OS user>`, or `system:<part>` (as the audit log names them). */
const actor = z.string().meta({ description: 'who: an API key name, "dashboard", "cli:<user>" or "system:<part>"' });

function event<T extends string, D extends z.ZodType>(type: T, id: string, description: string, data: D) {
  return z
    .object({ type: z.literal(type), timestamp: time, data })
    .meta({ id, title: type, description: `\`${type}\`: ${description}` });
}

export const messageSent = event(
  'message.sent',
  'MessageSentEvent',
  'EngageLab accepted the message.',
  messageData({ status: z.literal('sent'), message_id: z.string() }),
);

export const messageDead = event(
  'message.dead',
  'MessageDeadEvent',
  'the message was never accepted: refused for good, retries exhausted, or an unknown outcome.',
  messageData({
    status: z.literal('dead'),
    error: messageErrorSchema.extend({ reason: z.enum(DEAD_REASONS) }),
  }),
);

export const messageSkipped = event(
  'message.skipped',
  'MessageSkippedEvent',
  'the message was not sent, on purpose: suppressed, expired, cancelled, or outside the session window.',
  messageData({
    status: z.literal('skipped'),
    error: messageErrorSchema.extend({ reason: z.enum(SKIP_REASONS), code: z.null(), http_status: z.null() }),
  }),
);

export const messageDelivered = event(
  'message.delivered',
  'MessageDeliveredEvent',
  "the recipient's phone has the message (from EngageLab's status callbacks).",
  messageData({ status: z.literal('sent'), delivery: delivered('delivered') }),
);

export const messageRead = event(
  'message.read',
  'MessageReadEvent',
  'the recipient read the message.',
  messageData({ status: z.literal('sent'), delivery: delivered('read') }),
);

export const messageFailed = event(
  'message.failed',
  'MessageFailedEvent',
  'accepted, then reported failed downstream; `delivery.error_code` says why. A later delivered or read overrides it.',
  messageData({ status: z.literal('sent'), delivery: delivered('failed') }),
);

export const messageReplied = event(
  'message.replied',
  'MessageRepliedEvent',
  'the recipient answered the message: `data` is the message answered, and `reply` what came back.',
  messageData({
    reply: z.object({
      message_id: z.string().meta({ description: "the inbound message's id" }),
      at: time,
      type: z.string().meta({ description: 'what kind of message came back: text, button, image…' }),
      text: z.string().nullable().meta({ description: 'its text (or the button pressed), when it has one' }),
    }),
  }),
);

export const contactOptedOut = event(
  'contact.opted_out',
  'ContactOptedOutEvent',
  'a user was put on the opt-out list: they wrote an opt-out keyword, or an operator added them.',
  z.object({
    number: z.string().nullable().meta({ description: "the user's number; null when only their user id is known" }),
    user_id: z.string().nullable().meta({ description: "the user's business-scoped user id, when known" }),
    source: z.enum(['keyword', 'operator']),
    keyword: z.string().nullable().meta({ description: 'the opt-out word they wrote (source keyword)' }),
    by: actor,
  }),
);

const campaignEvent = <T extends string>(type: T, id: string, description: string, narrow: z.ZodRawShape = {}) =>
  event(type, id, description, campaignSchema.extend({ by: actor, ...narrow }));

export const campaignStarted = campaignEvent(
  'campaign.started',
  'CampaignStartedEvent',
  'the first message of the campaign was settled (sent or dead).',
);
export const campaignPaused = campaignEvent(
  'campaign.paused',
  'CampaignPausedEvent',
  'the campaign was paused; `pause_reason` says why.',
  { state: z.literal('paused'), pause_reason: z.string() },
);
export const campaignResumed = campaignEvent('campaign.resumed', 'CampaignResumedEvent', 'the campaign was resumed.');
export const campaignCancelled = campaignEvent(
  'campaign.cancelled',
  'CampaignCancelledEvent',
  'the campaign was cancelled; its messages not yet requested end skipped (reason cancelled).',
  { state: z.literal('cancelled') },
);
export const campaignDone = campaignEvent(
  'campaign.done',
  'CampaignDoneEvent',
  'no message of the campaign is pending any more.',
  { state: z.literal('done'), pending: z.literal(0) },
);

const lane = z
  .string()
  .nullable()
  .meta({ description: 'the sender number whose lane this is; null for the whole fleet' });

export const sendingPaused = event(
  'sending.paused',
  'SendingPausedEvent',
  'sending stopped, for the whole fleet or one sender, until resumed: by an operator, or by wa-bulk (an auth failure, a balance or account notification, the quality guard).',
  z.object({ lane, reason: z.string(), by: actor }),
);
export const sendingResumed = event(
  'sending.resumed',
  'SendingResumedEvent',
  'sending goes on again, for the whole fleet or one sender.',
  z.object({ lane, by: actor }),
);

/** Every event type's schema, by type. */
export const EVENT_SCHEMAS = {
  'message.sent': messageSent,
  'message.dead': messageDead,
  'message.skipped': messageSkipped,
  'message.delivered': messageDelivered,
  'message.read': messageRead,
  'message.failed': messageFailed,
  'message.replied': messageReplied,
  'contact.opted_out': contactOptedOut,
  'campaign.started': campaignStarted,
  'campaign.paused': campaignPaused,
  'campaign.resumed': campaignResumed,
  'campaign.cancelled': campaignCancelled,
  'campaign.done': campaignDone,
  'sending.paused': sendingPaused,
  'sending.resumed': sendingResumed,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as EventType[];

/** An event of a given type, as posted. */
export type EventOf<T extends EventType> = z.output<(typeof EVENT_SCHEMAS)[T]>;
export type WebhookEvent = { [T in EventType]: EventOf<T> }[EventType];

/** Any event: checks the body against the schema its `type` names. */
export const webhookEventSchema = z.discriminatedUnion(
  'type',
  Object.values(EVENT_SCHEMAS) as [(typeof EVENT_SCHEMAS)[EventType], ...(typeof EVENT_SCHEMAS)[EventType][]],
);
