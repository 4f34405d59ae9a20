import { z } from 'zod';
import { FOLLOWUP_STATES, type Followup, type InvalidFollowup } from '../../campaigns/followups.js';
import { count, errorSchema, same, time, type Same } from './common.js';

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
const invalidFollowupSchema = z.object({ id: z.string(), state: z.string(), problem: z.string() });
export const followupsSchema = z.object({
  followups: z.array(followupSchema),
  invalid: z.array(invalidFollowupSchema).meta({
    description:
      'stored rules that cannot be shown (a time or message written before they were checked): each id with what ' +
      'is wrong; such a rule can still be cancelled',
  }),
});
export const followupCancelRefusedSchema = errorSchema.extend({ state: z.enum(FOLLOWUP_STATES) });
/** A cancelled rule, or one stored that cannot be shown: what the listing's `invalid` says of it. */
export const followupCancelledSchema = z.union([followupSchema, invalidFollowupSchema]);
/** One stored rule that cannot be shown, asked for by its id: what the listing's `invalid` says of it. */
export const followupInvalidSchema = errorSchema.extend(invalidFollowupSchema.shape);

same<Same<z.output<typeof followupSchema>, Followup>>(true);
same<Same<z.output<typeof invalidFollowupSchema>, InvalidFollowup>>(true);
