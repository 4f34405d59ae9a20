import { z } from 'zod';
import type { AuditEntry } from '../access/audit.js';
import type { AuditPage } from '../access/audit-read.js';
import { KEY_NAME, type describeKey, type KeyState, type NewKey } from '../access/keys.js';
import { ROLES } from '../access/roles.js';
import { MAX_BATCH } from '../events/endpoints.js';
import { CAMPAIGN_FILTER } from '../events/manage.js';
import { count, same, time, type Same } from './api-schemas.js';
import { closed, expected, optionText } from './request-schemas.js';
import type { CampaignActors } from './campaigns-page.js';

/**
 * The answers and requests of the admin routes, in zod, for the contract (openapi.ts): API keys, the audit
 * log and webhook endpoints. The rest of the API's shapes are in api-schemas.ts (answers) and
 * request-schemas.ts (requests); the routes parse their requests with these objects (input.ts).
 */

const roleSchema = z.enum(ROLES);
const keySchema = z
  .object({
    name: z.string(),
    role: roleSchema,
    prefix: z.string().meta({ description: "the key's public prefix, never the key" }),
    state: z.enum(['active', 'expired', 'revoked']),
    created_at: time.nullable(),
    created_by: z.string(),
    last_used_at: time.nullable(),
    expires_at: time.nullable(),
    revoked_at: time.nullable(),
    rate: z.number().positive().nullable().meta({ description: 'requests a second; null: API_KEY_RATE' }),
  })
  .meta({ id: 'ApiKey' });
export const keysSchema = z.object({ keys: z.array(keySchema) }).meta({ id: 'ApiKeys' });
export const newKeySchema = z
  .object({
    name: z.string(),
    role: roleSchema,
    key: z.string().meta({ description: 'the key: shown this once, and never again' }),
    prefix: z.string(),
    expires_at: time.nullable(),
  })
  .meta({ id: 'NewApiKey' });
export const rolledKeySchema = newKeySchema
  .extend({ old_expires_at: time.meta({ description: 'when the old key stops working' }) })
  .meta({ id: 'RolledApiKey' });
export const revokedSchema = z.object({ name: z.string(), revoked: count }).meta({ id: 'RevokedApiKey' });

const auditEntrySchema = z
  .object({
    id: z.string(),
    at: time,
    actor: z.string(),
    action: z.string(),
    target: z.string().nullable(),
    params: z.record(z.string(), z.unknown()),
    outcome: z.string().meta({ description: '`ok`, or `refused 403`, `failed 500`, `exit 1`…' }),
    ip: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });
export const auditSchema = z
  .object({
    entries: z.array(auditEntrySchema).meta({ description: 'the newest entries that match, oldest first' }),
    more: z
      .boolean()
      .meta({ description: 'older entries match too (narrow with since, actor or target, or raise limit)' }),
  })
  .meta({ id: 'AuditLog' });
export const auditCampaignsSchema = z
  .object({ campaigns: z.record(z.string(), z.object({ actor: z.string(), action: z.string(), at: time })) })
  .meta({ id: 'CampaignActors' });

export const auditQuerySchema = closed({
  since: optionText('a time, or 2h for two hours ago'),
  actor: optionText('only this actor'),
  target: optionText('only this target'),
  limit: z
    .string()
    .regex(/^[1-9]\d{0,4}$/, {
      error: (issue) => `expected an integer from 1 to 99999, got "${String(issue.input).slice(0, 40)}"`,
    })
    .optional()
    .meta({ description: 'at most this many entries (default 1000)' }),
});
// As keys.create's own check (checkKeyName) words it, where a missing name reads as "".
const keyNameExpected = ({ input }: { input?: unknown }) =>
  `expected a name of 1 to 64 letters, digits, "_", "-" or "." (not "dashboard"), got ${
    typeof input === 'string'
      ? `"${input.slice(0, 80)}"`
      : input === undefined
        ? '""'
        : JSON.stringify(input).slice(0, 80)
  }`;
/**
 * A whole number given as a JSON number or as its text (`20`, `"20"`), with the text forms the field also takes
 * (`"20/s"`, `"1h"`); the route reads both as text (String(value)), so `0` and `"0"` mean the same.
 */
const numberOrText = (what: string, description: string) =>
  z
    .union(
      [
        z
          .number({ error: expected(what) })
          .int({ error: expected(what) })
          .nonnegative({ error: expected(what) }),
        z.string(),
      ],
      {
        error: expected(what),
      },
    )
    .optional()
    .meta({ description });
export const createKeyBodySchema = closed({
  name: z
    .string({ error: keyNameExpected })
    .regex(KEY_NAME, { error: keyNameExpected })
    .refine((name) => name !== 'dashboard', { error: keyNameExpected })
    .meta({ description: '1-64 letters, digits, "_", "." or "-", starting with a letter or digit; not "dashboard"' }),
  role: z.enum(ROLES, { error: `expected ${ROLES.join(', ')}` }),
  expires_in: optionText('a duration such as 30d'),
  rate: numberOrText('requests a second such as 20 or "20/s"', 'requests a second: 20, "20" or "20/s"'),
});
export const rollKeyBodySchema = closed({
  overlap: numberOrText(
    'a duration such as "1h", or 0',
    'how long the old key keeps working: default "1h", 0 (or "0") stops it at once',
  ),
  expires_in: optionText('a duration such as 30d'),
});

same<Same<z.output<typeof keySchema>, ReturnType<typeof describeKey>>>(true);
same<Same<z.output<typeof keySchema>['state'], KeyState>>(true);
same<Same<z.output<typeof newKeySchema>, NewKey>>(true);
same<Same<z.output<typeof auditEntrySchema>, AuditEntry>>(true);
same<Same<z.output<typeof auditSchema>, AuditPage>>(true);
same<Same<z.output<typeof auditCampaignsSchema>['campaigns'], CampaignActors>>(true);
// Webhook endpoints (src/events/): what /api/webhooks answers, as `wa-bulk webhooks … --json` prints it.
export const endpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()).meta({ description: 'event types, `group.*` or `*`; empty: every event' }),
    campaign: z.string().nullable().meta({ description: "only this campaign's events, or all" }),
    batch: count.meta({ description: 'events a request at most (1: one a request)' }),
    created_at: time.nullable(),
    disabled: z.object({ at: time, reason: z.string() }).nullable(),
    failing_since: time.nullable(),
    last: z.object({ at: time, status: z.number().int().nullable(), error: z.string().nullable() }).nullable(),
    counts: z.object({ delivered: count, failed: count, exhausted: count, dropped: count }),
    retrying: count,
    exhausted: count,
  })
  .meta({ id: 'WebhookEndpoint' });
export const endpointsSchema = z.object({ endpoints: z.array(endpointSchema) }).meta({ id: 'WebhookEndpoints' });
export const addedEndpointSchema = endpointSchema
  .extend({ secret: z.string().meta({ description: 'the `whsec_` signing secret: shown this once' }) })
  .meta({ id: 'WebhookEndpointAdded' });
export const rotatedSecretSchema = z
  .object({
    id: z.string(),
    secret: z.string().meta({ description: 'the new secret, shown this once' }),
    previous_until: time.meta({ description: 'until then both secrets sign' }),
  })
  .meta({ id: 'WebhookSecretRotated' });
const deliverySummary = {
  id: z.string().meta({ description: 'the webhook-id' }),
  body: z.string(),
  attempts: count,
  first: count.meta({ description: 'first attempt, epoch ms' }),
};
export const webhookDeliveriesSchema = z
  .object({
    retrying: z.array(z.object({ ...deliverySummary, due: count.meta({ description: 'next attempt, epoch ms' }) })),
    exhausted: z.array(
      z.object({
        ...deliverySummary,
        at: count.meta({ description: 'given up, epoch ms' }),
        status: z.number().int().nullable(),
        error: z.string(),
      }),
    ),
  })
  .meta({ id: 'WebhookDeliveries' });
export const webhookTestSchema = z
  .object({
    result: z.enum(['delivered', 'gone', 'failed']),
    status: z.number().int().nullable(),
    error: z.string().optional(),
    retryAfterMs: count.optional(),
  })
  .meta({ id: 'WebhookTestAttempt' });
const CAMPAIGN_EXPECTED = 'expected a campaign id (letters, digits, "_", "-", ".")';
const EVENTS_EXPECTED = 'expected a list of event types, such as message.*,contact.opted_out';
export const addEndpointBodySchema = closed({
  url: z
    .string({ error: 'expected a URL' })
    .min(1, { error: 'expected a URL' })
    .meta({ description: 'https (or http) URL; private addresses refused unless WEBHOOK_ALLOW_PRIVATE' }),
  events: z
    .union([z.string(), z.array(z.string())], { error: EVENTS_EXPECTED })
    .optional()
    .meta({ description: 'event types, `group.*` or `*`: a comma list or an array; none: every event' }),
  campaign: z
    .string({ error: CAMPAIGN_EXPECTED })
    .regex(CAMPAIGN_FILTER, { error: CAMPAIGN_EXPECTED })
    .optional()
    .meta({ description: "only this campaign's events" }),
  batch: z
    .number({ error: `expected an integer from 1 to ${MAX_BATCH}` })
    .int({ error: `expected an integer from 1 to ${MAX_BATCH}` })
    .min(1, { error: `expected an integer from 1 to ${MAX_BATCH}` })
    .max(MAX_BATCH, { error: `expected an integer from 1 to ${MAX_BATCH}` })
    .optional()
    .meta({ description: 'events a request at most; default 1' }),
});
export const replayWebhookBodySchema = closed({
  since: z
    .string({ error: 'expected an ISO time or a duration back from now (2h, 3d)' })
    .optional()
    .meta({ description: 'an ISO time, or a duration back from now (2h, 3d)' }),
});
