import { z } from 'zod';
import type { HealthSnapshot } from '../../redis/health.js';
import { count, same, time, type Same } from './common.js';

// The service's own answers: opt-outs (suppressions), health, and EngageLab's callbacks taken or kept aside.

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

same<Same<z.output<typeof redisHealthSchema>, HealthSnapshot>>(true);
