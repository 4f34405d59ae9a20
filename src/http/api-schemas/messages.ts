import { z } from 'zod';
import { DEAD_REASONS } from '../../ledger/reasons.js';
import { messageRecordSchema } from '../../ledger/schemas.js';
import { count, time } from './common.js';

// Messages' answers: a campaign's messages page by page, one not removed, and the dead letters (of a campaign,
// of all, replayed, purged).

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
    left_out: count.meta({ description: 'matched but left out, for the reasons in left_out_by' }),
    left_out_by: z.object({
      unknown_outcome: count.meta({ description: 'EngageLab may have them: replayed only when reason names it' }),
      campaign_cancelled: count.meta({ description: 'their campaign is cancelled: kept, not replayed' }),
    }),
    already_sent: count.meta({ description: 'dropped: the ledger has them as sent' }),
    malformed: malformedSchema,
  })
  .meta({ id: 'DeadLettersReplayed' });
export const replayRefusedSchema = z
  .object({
    error: z.string(),
    campaign: z.string(),
    state: z.literal('cancelled'),
  })
  .meta({ id: 'DeadLettersReplayRefused' });
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
