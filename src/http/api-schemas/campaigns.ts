import { z } from 'zod';
import type { EnqueueSummary } from '../../../producers/enqueue.js';
import type { LaneState } from '../../lanes/lanes.js';
import type { RejectedLine } from '../../ledger/rejects.js';
import { campaignSchema } from '../../ledger/schemas.js';
import type { CampaignsOverview } from '../campaigns-page.js';
import { count, same, time, type Same } from './common.js';

// Campaigns' answers: a campaign as the routes show it, the campaigns page's overview with its senders, what an
// enqueue did, the lines it refused, and a campaign's timeline.

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
  .meta({
    id: 'CampaignView',
    description:
      'The campaign object, with whether it is paused now (a pause in force on a campaign whose messages have all ended holds back those enqueued later).',
  });
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
    duplicate_lines: z
      .array(z.object({ line: count, request_id: z.string() }))
      .optional()
      .meta({ description: 'where the duplicates are (the same message as one the ledger holds), when there are any' }),
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

export const enqueueTooLargeSchema = enqueueSummarySchema
  .extend({
    error: z.string().meta({ description: 'the limit, and the lines taken and where to resend from, if any were' }),
    last_line: count.meta({
      description: 'the last line of the body taken (its counts are above); 0 when none was. Resend from the next',
    }),
  })
  .meta({
    id: 'EnqueueTooLarge',
    description:
      "A body over 16 MiB: what was taken of it, in the 200 answer's counts. Only NDJSON read as it streams in (`preflight=false`) has lines taken; any other body has none (`last_line` 0).",
  });

export const campaignClosedSchema = z
  .object({
    error: z.string(),
    campaign: z.string(),
    state: z.enum(['done', 'cancelled']).meta({ description: 'why it takes no more' }),
  })
  .meta({ id: 'CampaignClosed', description: 'A campaign that cannot take this: cancelled, or (for a pause) done.' });

const rejectedLineSchema = z.object({ line: count, error: z.string(), enqueued_at: time });
export const rejectsSchema = z
  .object({ campaign: z.string(), rejected: count, rejects: z.array(rejectedLineSchema) })
  .meta({ id: 'RejectedLines', description: 'The first 1,000 lines refused at enqueue; `rejected` counts them all.' });

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

same<Same<z.output<typeof overviewSchema>, CampaignsOverview>>(true);
same<Same<Omit<z.output<typeof laneSchema>, 'parked'>, LaneState>>(true);
same<Same<z.output<typeof enqueueSummarySchema>, EnqueueSummary & { notes?: string[] }>>(true);
same<Same<z.output<typeof rejectedLineSchema>, RejectedLine>>(true);
