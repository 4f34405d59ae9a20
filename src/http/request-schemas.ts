import { z } from 'zod';
import { UNKNOWN_ROWS_KEPT } from '../engagelab/unknown-rows.js';
import { DEAD_REASONS } from '../ledger/reasons.js';
import { CAMPAIGN_ID } from '../messages/ids.js';

/**
 * The query parameters and small JSON bodies of the HTTP API (the admin routes' are in admin-schemas.ts):
 * the published contract (openapi.ts) describes the requests with these, and the route handlers parse their
 * input with these very objects (input.ts), so the two cannot part. A domain function may check a field
 * further once its schema has taken it (a time, a duration, a key name's uniqueness); a schema's `error`
 * words a refusal as the route always has. test/integration/request-schemas.test.ts sends each route a
 * request its schema refuses.
 */

/** The error a schema gives for a bad value: what it expects, and what came (cut to 80 characters). */
export const expected =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    `expected ${what}, got ${JSON.stringify(issue.input)?.slice(0, 80) ?? 'nothing'}`;

/** An object's refusal: the fields it does not name (`unknown field "campain"`), or that it is not an object. */
const unknownOrNotObject = (issue: { code?: string; keys?: string[]; input?: unknown }): string =>
  issue.code === 'unrecognized_keys' && issue.keys !== undefined
    ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
    : expected('a JSON object')(issue);

/**
 * A query or body that refuses a field it does not name: a misspelt one would otherwise be dropped with what it
 * meant, and a filter without it matches everything (`{"campain":"x"}` replaying every dead letter).
 */
export const closed = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.strictObject(shape, { error: unknownOrNotObject });

// The dead-letter filter of `wa-bulk dlq`, as a query (GET) or a JSON body (replay, purge).
const deadCampaign = z
  .string({ error: 'expected 1-64 letters, digits, "_" or "-"' })
  .regex(CAMPAIGN_ID, { error: 'expected 1-64 letters, digits, "_" or "-"' })
  .optional()
  .meta({ description: 'only this campaign' });
const INTEGER = /^-?[0-9]{1,9}$/;
const codeText = z.string().regex(INTEGER, { error: expected('an EngageLab code (an integer)') });
const deadReason = z
  .enum(DEAD_REASONS, { error: expected(`one of ${DEAD_REASONS.join(', ')}`) })
  .optional()
  .meta({ description: 'only letters dead for this reason' });
export const deadFilterBodySchema = closed({
  campaign: deadCampaign,
  code: z
    .union([z.number({ error: expected('an EngageLab code (an integer)') }).int(), codeText], {
      error: expected('an EngageLab code (an integer)'),
    })
    .optional()
    .meta({ description: "EngageLab's error code: a number, or its digits as a string" }),
  reason: deadReason,
});
export const deadFilterQuerySchema = closed({
  campaign: deadCampaign,
  code: codeText.optional().meta({ description: "EngageLab's error code" }),
  reason: deadReason,
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,4}$/, { error: expected('an integer from 1 to 10000') })
    .refine((text) => Number(text) <= 10_000, { error: expected('an integer from 1 to 10000') })
    .optional()
    .meta({ description: '1 to 10,000; default 1,000' }),
});

// The campaign options of the HTTP producer, the views of a campaign, the opt-out list.
export const optionText = (description: string) => z.string().optional().meta({ description });
export const enqueueQuerySchema = closed({
  at: optionText('no message leaves before this: ISO 8601 with an offset, or +30m / +2h from now'),
  send_window: optionText("HH:MM-HH:MM of the recipient's local time; 20:00-02:00 crosses midnight"),
  expires_in: optionText('a message not sent by then is never sent: 90s, 10m, 2h, 1d'),
  expires_at: optionText('as expires_in, as a time'),
  priority: z
    .enum(['high', 'normal', 'low'], {
      error: (issue) => `expected high, normal or low, got ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  preflight: z
    .enum(['true', 'false'], { error: expected('true or false') })
    .optional()
    .meta({ description: 'false skips preflight' }),
});
export const rejectsQuerySchema = closed({
  format: z
    .enum(['jsonl', 'csv'], { error: (issue) => `expected "jsonl" or "csv", got ${JSON.stringify(issue.input)}` })
    .optional()
    .meta({ description: 'jsonl: the JSON answer (the default); csv: a CSV download' }),
});
export const messagesQuerySchema = closed({
  status: optionText('only messages in these states, a comma list: pending, sent, dead, skipped'),
  reason: optionText('only messages dead or skipped for these reasons (error.reason), a comma list'),
  code: optionText('only messages with these error codes (died with, or delivery failure code), a comma list'),
  delivery: optionText(
    'only messages in these delivery states, a comma list: failed, not_delivered, not_read, replied',
  ),
  limit: z
    .string()
    .regex(/^[1-9]\d{0,3}$/, { error: expected('an integer from 1 to 1000') })
    .refine((text) => Number(text) <= 1000, { error: expected('an integer from 1 to 1000') })
    .optional()
    .meta({ description: 'at most this many messages (1 to 1000, default 100)' }),
  cursor: optionText("the previous page's next_cursor; absent for the first page"),
  order: z
    .enum(['oldest', 'newest'], {
      error: (issue) => `expected "oldest" or "newest", got ${JSON.stringify(issue.input)}`,
    })
    .optional()
    .meta({ description: 'oldest: enqueue order (the default); newest: the latest enqueued first' }),
});
export const exportQuerySchema = closed({
  format: z
    .enum(['jsonl', 'csv', 'audience'], {
      error: (issue) => `expected "jsonl", "csv" or "audience", got ${JSON.stringify(issue.input)}`,
    })
    .optional()
    .meta({ description: 'jsonl (the default), csv, or audience: a CSV that `wa-bulk enqueue --format csv` reads' }),
  status: messagesQuerySchema.shape.status,
  reason: messagesQuerySchema.shape.reason,
  code: messagesQuerySchema.shape.code,
  delivery: messagesQuerySchema.shape.delivery,
});
export const suppressionQuerySchema = closed({
  number: optionText('one number or user id to look up instead of the list'),
});
export const pauseBodySchema = closed({
  reason: z.string().optional().meta({ description: 'why, cut to 500 characters; "paused by an operator" if none' }),
});
const NUMBERS_EXPECTED = '1 to 1000 numbers as strings (use "wa-bulk suppress import" for more)';
export const numbersBodySchema = closed({
  numbers: z
    .array(z.string({ error: expected('a number or user id as a string') }), { error: expected(NUMBERS_EXPECTED) })
    .min(1, { error: `expected ${NUMBERS_EXPECTED}` })
    .max(1000, { error: `expected ${NUMBERS_EXPECTED}` })
    .meta({ description: 'numbers (any international notation) or user ids' }),
});
/** The body of a route that takes none: nothing, or a JSON object without fields. */
export const emptyBodySchema = closed({});
export const unknownRowsQuerySchema = closed({
  limit: z
    .string()
    .regex(/^0*[1-9][0-9]*$/, { error: `expected a whole number from 1 to ${UNKNOWN_ROWS_KEPT}` })
    .optional()
    .meta({ description: '1 to 1,000 (more reads as 1,000); default 100' }),
});

// Follow-up rules (docs/campaigns.md#follow-ups): the words, the times and the message are checked further as
// `wa-bulk followup` checks them (producers/followups.ts).
const ruleCampaign = (description: string) =>
  z
    .string({ error: expected('a campaign id') })
    .regex(CAMPAIGN_ID, { error: 'expected 1-64 letters, digits, "_" or "-"' })
    .meta({ description });
const ruleText = (description: string, example?: string) =>
  z
    .string({ error: expected('text') })
    .optional()
    .meta({ description, ...(example !== undefined && { example }) });
export const followupQuerySchema = closed({
  from: ruleCampaign('only the rules of this source campaign').optional(),
});
// A misspelt field ("param") would otherwise be dropped and make a rule without it.
export const followupBodySchema = closed({
  from: ruleCampaign('the source campaign, which must exist'),
  where: z
    .string({ error: expected("export's filter words") })
    .meta({ description: "export's filter words, comma-separated", example: 'not_read' }),
  after: ruleText("after the source campaign's end (else its start): 90s, 10m, 24h, 2d", '24h'),
  at: ruleText('or at this time: ISO 8601 with an offset, or +30m'),
  campaign: ruleCampaign('the follow-up campaign, not the source'),
  template: ruleText('a template name (with language), or give text'),
  language: ruleText("the template's language code"),
  params: z
    .record(z.string(), z.string({ error: expected('text') }), {
      error: expected('an object of template columns to text, e.g. {"body_1":"{{name}}"}'),
    })
    .optional()
    .meta({ description: 'template columns (body_1, header_image, …) to text; {{name}} is a custom_args value' }),
  text: ruleText('a text message instead; {{name}} is a custom_args value'),
  send_window: ruleText("its messages leave only in this span of the recipient's local time", '09:00-21:00'),
  expires_in: ruleText('its messages expire this long after the rule is evaluated: 90s, 10m, 2h, 1d'),
  expires_at: ruleText('or at this time: ISO 8601 with an offset, or +30m'),
  priority: z
    .enum(['high', 'normal', 'low'], { error: expected('high, normal or low') })
    .optional()
    .meta({ description: "its messages' priority; default normal" }),
});
