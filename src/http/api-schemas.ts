import { z } from 'zod';
import type { EnqueueSummary } from '../../producers/enqueue.js';
import { FOLLOWUP_STATES, type Followup } from '../campaigns/followups.js';
import type { LaneState } from '../lanes/lanes.js';
import type { RejectedLine } from '../ledger/rejects.js';
import { campaignSchema, messageRecordSchema } from '../ledger/schemas.js';
import { DEAD_REASONS } from '../ledger/reasons.js';
import { CAMPAIGN_ID, REQUEST_ID, REQUEST_ID_RULE } from '../messages/ids.js';
import type { HealthSnapshot } from '../redis/health.js';
import type { CampaignsOverview } from './campaigns-page.js';

/**
 * The HTTP API's shapes that no other module states as a zod schema: what the routes answer (their requests
 * are in request-schemas.ts). The published contract (openapi.ts) is generated from these, from the requests'
 * schemas, from the ledger's records (src/ledger/schemas.ts) and from the schemas that validate messages and
 * callbacks. The checks at the end fail to compile when an answer's
 * TypeScript shape and its schema part; the integration tests check every answer they receive against the
 * document (test/helpers/contract.ts).
 */

export const count = z.number().int().nonnegative();
export const time = z.iso.datetime().meta({ description: 'ISO 8601, UTC' });

export const errorSchema = z
  .object({ error: z.string().meta({ description: 'what is wrong, naming the field or parameter' }) })
  .meta({ id: 'Error', description: 'Every refusal and failure: 4xx and 5xx answers.' });

// Identifiers in paths.
export const campaignIdParam = z
  .string()
  .regex(CAMPAIGN_ID)
  .meta({ description: 'the campaign id: 1-64 letters, digits, "_" or "-"', example: 'spring-sale' });
export const requestIdParam = z
  .string()
  .regex(REQUEST_ID)
  .meta({ description: `the message's request_id: ${REQUEST_ID_RULE}` });
export const keyNameParam = z.string().meta({ description: "the key's name", example: 'shop' });

/** Its pending messages waiting out their recipients' marketing rest (src/status/resting.ts); absent when none. */
const restingSchema = z
  .object({
    messages: count.meta({ description: 'pending messages to recipients that rest now' }),
    until: time.meta({ description: 'when the last of those rests ends; eta is no sooner' }),
    partial: z.boolean().meta({ description: 'true when only its first 2,000 messages were looked at' }),
  })
  .optional()
  .meta({ id: 'Resting' });

// The campaign object as the routes answer it.
export const campaignViewSchema = campaignSchema
  .extend({
    paused: z.boolean().meta({ description: 'paused on its own or with the whole fleet' }),
    resting: restingSchema,
  })
  .meta({ id: 'CampaignView', description: 'The campaign object, with whether it is paused now.' });
export const resumedSchema = campaignSchema
  .extend({ resumed: count.meta({ description: 'parked messages put back' }) })
  .meta({ id: 'CampaignResumed' });
export const cancelledSchema = campaignSchema
  .extend({ skipped_now: count.meta({ description: 'the messages this cancel skipped' }) })
  .meta({ id: 'CampaignCancelled' });

const laneSchema = z
  .object({
    from: z.string().meta({ description: 'the sender number; "default" for the lane of messages without one' }),
    rate_max: count,
    window_ms: count,
    rate_source: z.enum(['workers', 'configuration']),
    workers: count,
    rate_now: z.number().nonnegative(),
    paused: z.boolean(),
    pause_reason: z.string().nullable(),
    waiting: count,
    parked: count.meta({ description: 'of waiting, the jobs of paused campaigns' }),
  })
  .meta({ id: 'Sender' });

export const overviewSchema = z
  .object({
    campaigns: z.array(campaignSchema.extend({ enqueued_at: time, parked: count, resting: restingSchema })),
    paused: z.boolean(),
    pause_reason: z.string().nullable(),
    senders: z.array(laneSchema),
    messaging_limit: z.object({ limit: z.union([count, z.literal('unlimited')]), used: count, held: count }),
    dead: count,
  })
  .meta({ id: 'CampaignsOverview', description: 'What the campaigns page shows: campaigns newest first.' });

export const enqueueSummarySchema = z
  .object({
    campaign: z.string(),
    accepted: count,
    rejected: count,
    duplicates: count,
    suppressed: count,
    rejects: z.array(z.object({ line: count, error: z.string() })),
    rejects_truncated: z.boolean().optional(),
    warnings: z.array(z.object({ line: count, warning: z.string() })).optional(),
    notes: z.array(z.string()).optional().meta({ description: 'what preflight or the options could not check' }),
  })
  .meta({
    id: 'EnqueueSummary',
    description: 'What an enqueue did, as `wa-bulk enqueue --json` prints it; items count from 1.',
  });

export const deadLettersSchema = z
  .object({
    campaign: z.string(),
    dead_letters: z.array(
      z.object({
        request_id: z.string(),
        to: z.string(),
        error: z.object({
          code: z.number().int().nullable(),
          http_status: z.number().int().nullable(),
          reason: z.enum(DEAD_REASONS),
          message: z.string(),
        }),
        attempts: count,
        died_at: time,
      }),
    ),
    truncated: z.boolean().meta({ description: 'more than 1,000: `wa-bulk dlq list --campaign ID` lists them all' }),
  })
  .meta({ id: 'DeadLetters' });

const rejectedLineSchema = z.object({ line: count, error: z.string(), enqueued_at: time });
export const rejectsSchema = z
  .object({ campaign: z.string(), rejected: count, rejects: z.array(rejectedLineSchema) })
  .meta({ id: 'RejectedLines', description: 'The first 1,000 lines refused at enqueue; `rejected` counts them all.' });

export const suppressionListSchema = z
  .object({ count, numbers: z.array(z.string()) })
  .meta({ id: 'SuppressionList', description: 'At most 10,000 numbers and user ids.' });
export const suppressionLookupSchema = z
  .object({
    number: z.string(),
    suppressed: z.boolean(),
    linked: z.string().nullable().meta({ description: 'the user id of a number, or the number of a user id' }),
  })
  .meta({ id: 'SuppressionLookup' });
export const suppressionsAddedSchema = z.object({ added: count, total: count }).meta({ id: 'SuppressionsAdded' });
export const suppressionsRemovedSchema = z.object({ removed: count, total: count }).meta({ id: 'SuppressionsRemoved' });

export const healthzSchema = z.object({ status: z.enum(['ok', 'unavailable']) }).meta({ id: 'Healthz' });
const redisHealthSchema = z.object({
  connected: z.boolean(),
  down_since: time.nullable(),
  last_error: z.string().nullable(),
  disconnects: count,
});
export const healthSchema = z.object({ status: z.literal('ok'), redis: redisHealthSchema }).meta({ id: 'Health' });
export const healthDownSchema = z
  .object({ status: z.literal('unavailable'), error: z.string(), redis: redisHealthSchema })
  .meta({ id: 'HealthDown' });

export const callbackAnswerSchema = z
  .object({
    ok: z.literal(true),
    rows: count.meta({ description: 'rows in the batch' }),
    taken: count.meta({ description: 'rows understood, to be applied' }),
    unknown: count.meta({
      description: 'rows of a shape wa-bulk does not know, kept aside (GET /api/callbacks/unknown)',
    }),
  })
  .meta({ id: 'CallbacksTaken' });

export const unknownRowsSchema = z
  .object({
    kept: count.meta({ description: 'rows kept aside now (the newest 1,000 at most)' }),
    rows: z.array(
      z.object({
        received_at: time,
        error: z.string().meta({ description: 'why the row was not taken' }),
        row: z.string().meta({ description: 'the row as JSON, cut at 2 KB' }),
        truncated: z.boolean(),
      }),
    ),
  })
  .meta({ id: 'UnknownCallbackRows' });

const deadLetterErrorSchema = z.object({
  code: z.number().int().nullable(),
  http_status: z.number().int().nullable(),
  reason: z.enum(DEAD_REASONS),
  message: z.string(),
});
const malformedSchema = z
  .array(z.object({ id: z.string(), problem: z.string() }))
  .meta({ description: 'jobs of the dead queue that are not dead letters, skipped and named by job id' });

export const allDeadLettersSchema = z
  .object({
    dead_letters: z.array(
      z.object({
        request_id: z.string(),
        campaign: z.string(),
        to: z.string(),
        error: deadLetterErrorSchema,
        attempts: count,
        died_at: time,
      }),
    ),
    truncated: z.boolean().meta({ description: 'more than `limit` matched' }),
    malformed: malformedSchema,
  })
  .meta({ id: 'AllDeadLetters' });
export const replayedSchema = z
  .object({
    action: z.literal('replay'),
    count: count.meta({ description: 'dead letters put back in their queue' }),
    left_out: count,
    already_sent: count.meta({ description: 'dropped: the ledger has them as sent' }),
    malformed: malformedSchema,
  })
  .meta({ id: 'DeadLettersReplayed' });
export const purgedSchema = z
  .object({
    action: z.literal('purge'),
    count: count,
    malformed: malformedSchema,
    malformed_dropped: z
      .boolean()
      .meta({ description: 'whether malformed jobs were dropped too (a purge without a filter)' }),
  })
  .meta({ id: 'DeadLettersPurged' });
export const notRemovedSchema = z
  .object({
    error: z.string(),
    state: z.enum(['unknown', 'sent', 'dead', 'skipped', 'in_flight', 'retrying']),
  })
  .meta({ id: 'NotRemoved' });
export const messagesPageSchema = z
  .object({
    campaign: z.string(),
    messages: z.array(messageRecordSchema),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: 'where the next page starts; null once every message has been looked at' }),
  })
  .meta({ id: 'MessagesPage' });
export const timelineSchema = z
  .object({
    campaign: z.string(),
    minute_ms: z.literal(60_000).meta({ description: 'the length of a point, in ms' }),
    points: z.array(
      z.object({
        at: time.meta({ description: 'the minute (UTC) the counts are of' }),
        sent: count.meta({ description: 'messages EngageLab accepted in the minute' }),
        delivered: count.meta({ description: 'messages reported delivered in the minute' }),
        read: count.meta({ description: 'messages reported read in the minute' }),
        failed: count.meta({ description: 'messages reported failed in the minute' }),
      }),
    ),
  })
  .meta({
    id: 'CampaignTimeline',
    description:
      "A campaign's sends and delivery states by minute, oldest first; minutes without any are left out. Counted as the ledger writes; empty once Redis has let the campaign go.",
  });

// Follow-up rules (docs/campaigns.md#follow-ups).
const followupMessageSchema = z
  .object({
    template: z.string().optional(),
    language: z.string().optional(),
    params: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: 'template columns (body_1, header_image, …) to text; {{name}} is a custom_args value' }),
    text: z.string().optional().meta({ description: 'a text message instead; {{name}} is a custom_args value' }),
  })
  .meta({ description: 'a template with its language and parameters, or a text' });
export const followupSchema = z
  .object({
    id: z.string().meta({ example: 'fu_3k9x0a1b2c' }),
    from: z.string().meta({ description: 'the source campaign' }),
    where: z.string().meta({ description: "export's filter words, comma-separated: not_read, failed, …" }),
    campaign: z.string().meta({ description: 'the follow-up campaign' }),
    message: followupMessageSchema,
    after: z.string().nullable().meta({ description: 'the --after duration, or null when a time was given' }),
    due_at: time,
    send_window: z
      .string()
      .nullable()
      .meta({ description: "its messages leave only in this span of the recipient's local time (HH:MM-HH:MM)" }),
    expires_in: z
      .string()
      .nullable()
      .meta({ description: 'its messages expire this long after the rule is evaluated (a duration)' }),
    expires_at: time.nullable().meta({ description: 'its messages expire at this time' }),
    priority: z.enum(['high', 'normal', 'low']).meta({ description: 'its messages’ priority' }),
    state: z.enum(FOLLOWUP_STATES),
    created_at: time,
    created_by: z.string(),
    started_at: time.nullable(),
    finished_at: time.nullable(),
    enqueued: count.meta({ description: 'messages of the new campaign it wrote, each recipient once' }),
    suppressed: count.meta({ description: 'matching recipients left out as opted out' }),
    held: count.meta({ description: 'matching recipients held back by marketing fatigue' }),
    rejected: count.meta({ description: 'matching recipients whose message was refused' }),
    cancelled_at: time.nullable(),
    cancelled_by: z.string().nullable(),
    note: z.string().nullable().meta({
      description:
        'why it ended otherwise than plainly (its source campaign no longer kept, its target campaign cancelled); null otherwise',
    }),
  })
  .meta({ id: 'Followup' });
export const followupCreatedSchema = followupSchema
  .extend({
    warnings: z.array(z.string()).meta({
      description:
        'what to know about the new rule: a time already past (due at once), a {{name}} that no custom_args of ' +
        "the source campaign's first 100 messages has (filled with an empty string where missing), a template " +
        'that could not be looked up (the rule is made unchecked)',
    }),
  })
  .meta({ id: 'FollowupCreated' });
export const followupsSchema = z.object({
  followups: z.array(followupSchema),
  invalid: z.array(z.object({ id: z.string(), state: z.string(), problem: z.string() })).meta({
    description:
      'stored rules that cannot be shown (a time or message written before they were checked): each id with what ' +
      'is wrong; such a rule can still be cancelled',
  }),
});
export const followupCancelRefusedSchema = errorSchema.extend({ state: z.enum(FOLLOWUP_STATES) });
/** True when A and B accept each other's values: a schema and the shape it describes. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const same = <T extends true>(value: T) => value;
same<Same<z.output<typeof overviewSchema>, CampaignsOverview>>(true);
same<Same<Omit<z.output<typeof laneSchema>, 'parked'>, LaneState>>(true);
same<Same<z.output<typeof enqueueSummarySchema>, EnqueueSummary & { notes?: string[] }>>(true);
same<Same<z.output<typeof rejectedLineSchema>, RejectedLine>>(true);
same<Same<z.output<typeof redisHealthSchema>, HealthSnapshot>>(true);
same<Same<z.output<typeof followupSchema>, Followup>>(true);
