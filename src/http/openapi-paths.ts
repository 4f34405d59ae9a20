import { z } from 'zod';
import { callbackRowSchema } from '../engagelab/callbacks.js';
import { DEAD_REASONS } from '../ledger/reasons.js';
import { campaignSchema, messageRecordSchema } from '../ledger/schemas.js';
import { messageSchema } from '../messages/schema.js';
import * as api from './api-schemas.js';

/**
 * Every route of the dashboard as the contract describes it, in OpenAPI's path syntax. openapi.ts adds to
 * each the role it needs (from route-roles.ts, the table the access middleware reads), the security schemes
 * and the answers every authenticated route may give (401, 403, 429, 503, 500).
 */

export type Method = 'get' | 'post' | 'delete';

export interface RouteDoc {
  /** The operationId: what a generated client names the call. */
  id: string;
  method: Method;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Public routes need no credentials (the role table has no row for them). */
  isPublic?: boolean;
  path_params?: z.ZodObject;
  query?: z.ZodObject;
  /** Media type → schema of the body. */
  body?: Record<string, z.ZodType>;
  /** Status → answer: a JSON schema (or several: any of them), another media type, or none. */
  responses: Record<string, Answer>;
}

export interface Answer {
  description: string;
  /** A JSON body: this schema, or any of these. */
  json?: z.ZodType | z.ZodType[];
  /** Bodies of other media types, described in words. */
  media?: Record<string, string>;
}

const json = (description: string, schema: z.ZodType | z.ZodType[]): Answer => ({ description, json: schema });
const error = (description: string): Answer => json(description, api.errorSchema);
const text = (description: string, media: string, what: string): Answer => ({ description, media: { [media]: what } });

/** The message as a producer gives it; `to` may be one number instead of a list. */
const message = messageSchema.meta({
  id: 'Message',
  description:
    "One message: EngageLab's request body, checked as `wa-bulk enqueue` checks a line (docs/campaigns.md#messages).",
  override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
    const properties = jsonSchema.properties as Record<string, object> | undefined;
    if (properties?.to)
      properties.to = { anyOf: [{ type: 'string', description: 'one international number' }, properties.to] };
  },
});
const callbackBatch = z
  .object({
    total: z.number().int().nonnegative().optional(),
    rows: z.array(callbackRowSchema).min(1).max(10_000),
  })
  .meta({
    id: 'CallbackBatch',
    description:
      'EngageLab\'s status callbacks: rows with exactly one of "status", "response" or "notification"; a row of another shape is kept aside and never fails its batch.',
  });

const campaign = z.object({ id: api.campaignIdParam });
const UNKNOWN_CAMPAIGN = error('no such campaign (unknown, or older than RESULT_TTL_DAYS)');
const NOT_JSON = error('the body is not `application/json`');
const BAD_REQUEST = error('a malformed identifier, parameter or body');
const TOO_LARGE = error('the body is over its limit');
const CSV_MEDIA = { 'text/csv': 'CSV with a header line' };

export const ROUTE_DOCS: readonly RouteDoc[] = [
  {
    id: 'enqueueMessages',
    method: 'post',
    path: '/api/campaigns/{id}/messages',
    tag: 'messages',
    summary: 'Enqueue messages',
    description:
      'A JSON array, or NDJSON (one message a line; read as it streams in when `preflight=false`), of at most 16 MiB. Each message is checked as `wa-bulk enqueue` checks a line: an invalid one is rejected on its own (in `rejects`, by item number from 1), never the whole request. Preflight checks templates and media first unless `preflight=false`.',
    path_params: campaign,
    query: api.enqueueQuerySchema,
    body: {
      'application/json': z.array(message),
      'application/x-ndjson': z.string().meta({
        description: 'one message (the Message schema) a line; application/ndjson and application/jsonl are taken too',
      }),
    },
    responses: {
      200: json('what was enqueued and what was rejected, line by line', api.enqueueSummarySchema),
      400: BAD_REQUEST,
      413: TOO_LARGE,
      415: error('another media type'),
      502: error("EngageLab refused preflight's credentials"),
    },
  },
  {
    id: 'home',
    method: 'get',
    path: '/',
    tag: 'pages',
    summary: 'Redirect to the campaigns page',
    responses: { 302: { description: 'to /campaigns', media: {} } },
  },
  {
    id: 'campaignsPage',
    method: 'get',
    path: '/campaigns',
    tag: 'pages',
    summary: 'The campaigns page',
    responses: { 200: text('every campaign at a glance, with pause, resume and cancel', 'text/html', 'a page') },
  },
  {
    id: 'bullBoard',
    method: 'get',
    path: '/queues',
    tag: 'pages',
    summary: 'Bull Board',
    description: 'The queues, read-only; under /queues only same-site JSON requests may change anything.',
    responses: { 200: text('Bull Board', 'text/html', 'a page') },
  },
  {
    id: 'listCampaigns',
    method: 'get',
    path: '/api/campaigns',
    tag: 'campaigns',
    summary: 'List campaigns',
    description:
      "What the campaigns page shows: campaigns newest first, the fleet's pause, senders and messaging limit.",
    responses: { 200: json('the overview', api.overviewSchema) },
  },
  {
    id: 'getCampaign',
    method: 'get',
    path: '/api/campaigns/{id}',
    tag: 'campaigns',
    summary: 'Read a campaign',
    path_params: campaign,
    responses: { 200: json('the campaign object', api.campaignViewSchema), 400: BAD_REQUEST, 404: UNKNOWN_CAMPAIGN },
  },
  {
    id: 'exportCampaign',
    method: 'get',
    path: '/api/campaigns/{id}/export',
    tag: 'campaigns',
    summary: "Export a campaign's messages",
    description:
      'Every message of the campaign as a download, as `wa-bulk export` prints it, with its outcome filters (docs/campaigns.md#outcome-filters).',
    path_params: campaign,
    query: api.exportQuerySchema,
    responses: {
      200: {
        description: 'one message record (the MessageRecord schema) a line, or CSV',
        media: {
          'application/x-ndjson': 'one MessageRecord a line',
          'text/csv':
            'CSV with a header line (format=csv), or an audience: to and arg_<name> columns (format=audience)',
        },
      },
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
    },
  },
  {
    id: 'listMessages',
    method: 'get',
    path: '/api/campaigns/{id}/messages',
    tag: 'campaigns',
    summary: "A campaign's messages by outcome, a page at a time",
    description:
      'In ledger (enqueue) order, filtered as `wa-bulk export` filters (docs/campaigns.md#outcome-filters): kinds must all match, the values of one kind (a comma list) are alternatives. A page looks at 10,000 messages at most, so it may hold fewer than `limit` (even none) while `next_cursor` is not null.',
    path_params: campaign,
    query: api.messagesQuerySchema,
    responses: {
      200: json('a page of messages and the cursor of the next', api.messagesPageSchema),
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
    },
  },
  {
    id: 'listDeadLetters',
    method: 'get',
    path: '/api/campaigns/{id}/dead-letters',
    tag: 'campaigns',
    summary: "A campaign's dead letters",
    path_params: campaign,
    responses: {
      200: json('at most 1,000 dead letters', api.deadLettersSchema),
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
    },
  },
  {
    id: 'listRejects',
    method: 'get',
    path: '/api/campaigns/{id}/rejects',
    tag: 'campaigns',
    summary: "A campaign's rejected lines",
    path_params: campaign,
    query: api.csvQuerySchema,
    responses: {
      200: { ...json('the lines its enqueues refused, or CSV with `format=csv`', api.rejectsSchema), media: CSV_MEDIA },
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
    },
  },
  ...(['pause', 'resume', 'cancel'] as const).map((action): RouteDoc => ({
    id: `${action}Campaign`,
    method: 'post',
    path: `/api/campaigns/{id}/${action}`,
    tag: 'campaigns',
    summary: `${action[0]?.toUpperCase()}${action.slice(1)} a campaign`,
    path_params: campaign,
    body: { 'application/json': action === 'pause' ? api.pauseBodySchema : z.object({}) },
    responses: {
      200: json(
        'the campaign object',
        action === 'pause' ? campaignSchema : action === 'resume' ? api.resumedSchema : api.cancelledSchema,
      ),
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  })),
  {
    id: 'listSuppressions',
    method: 'get',
    path: '/api/suppressions',
    tag: 'opt-outs',
    summary: 'The opt-out list, or one number in it',
    query: api.suppressionQuerySchema,
    responses: {
      200: json('the list, or with `number` whether it is suppressed', [
        api.suppressionListSchema,
        api.suppressionLookupSchema,
      ]),
      400: BAD_REQUEST,
    },
  },
  ...(['post', 'delete'] as const).map((method): RouteDoc => ({
    id: method === 'post' ? 'addSuppressions' : 'removeSuppressions',
    method,
    path: '/api/suppressions',
    tag: 'opt-outs',
    summary: method === 'post' ? 'Suppress numbers' : 'Stop suppressing numbers',
    body: { 'application/json': api.numbersBodySchema },
    responses: {
      200: json(
        'how many changed, and the total',
        method === 'post' ? api.suppressionsAddedSchema : api.suppressionsRemovedSchema,
      ),
      400: BAD_REQUEST,
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  })),
  {
    id: 'getMessage',
    method: 'get',
    path: '/api/messages/{request_id}',
    tag: 'messages',
    summary: 'Read a message',
    description: "The message's record, as `wa-bulk result --json` prints it.",
    path_params: z.object({ request_id: api.requestIdParam }),
    responses: {
      200: json('the record', messageRecordSchema),
      400: BAD_REQUEST,
      404: error('no message with this request_id'),
    },
  },
  {
    id: 'removeMessage',
    method: 'post',
    path: '/api/messages/{request_id}/remove',
    tag: 'messages',
    summary: 'Take a waiting message back',
    description:
      'As `wa-bulk remove`: a message not yet requested ends skipped (reason `removed`), its campaign counting it.',
    path_params: z.object({ request_id: api.requestIdParam }),
    body: { 'application/json': z.object({}) },
    responses: {
      200: json('its record, now skipped', messageRecordSchema),
      400: BAD_REQUEST,
      404: json('no message with this request_id', api.notRemovedSchema),
      409: json('the message cannot go back: `state` says why', api.notRemovedSchema),
      415: NOT_JSON,
    },
  },
  {
    id: 'listAllDeadLetters',
    method: 'get',
    path: '/api/dead-letters',
    tag: 'dead letters',
    summary: 'List dead letters',
    description: 'As `wa-bulk dlq list --json`, filtered as its flags filter.',
    query: z.object({
      campaign: z.string().optional(),
      code: z.string().optional().meta({ description: "EngageLab's error code" }),
      reason: z.enum(DEAD_REASONS).optional(),
      limit: z.string().optional().meta({ description: '1 to 10,000; default 1,000' }),
    }),
    responses: { 200: json('the dead letters', api.allDeadLettersSchema), 400: BAD_REQUEST },
  },
  ...(['replay', 'purge'] as const).map((action): RouteDoc => ({
    id: `${action}DeadLetters`,
    method: 'post',
    path: `/api/dead-letters/${action}`,
    tag: 'dead letters',
    summary: action === 'replay' ? 'Replay dead letters' : 'Purge dead letters',
    description:
      action === 'replay'
        ? 'As `wa-bulk dlq replay`: each matching letter back in its queue, but one the ledger has as sent.'
        : 'As `wa-bulk dlq purge`: matching letters dropped; without a filter, malformed jobs too.',
    body: { 'application/json': api.deadFilterBodySchema },
    responses: {
      200: json('what was done', action === 'replay' ? api.replayedSchema : api.purgedSchema),
      400: BAD_REQUEST,
      415: NOT_JSON,
    },
  })),
  {
    id: 'listUnknownCallbackRows',
    method: 'get',
    path: '/api/callbacks/unknown',
    tag: 'callbacks',
    summary: 'Callback rows kept aside',
    description: 'As `wa-bulk callbacks unknown`: the rows the receiver did not understand, newest first.',
    query: z.object({ limit: z.string().optional().meta({ description: '1 to 1,000; default 100' }) }),
    responses: { 200: json('the rows', api.unknownRowsSchema), 400: BAD_REQUEST },
  },
  {
    id: 'listWebhooks',
    method: 'get',
    path: '/api/webhooks',
    tag: 'webhooks',
    summary: 'List webhook endpoints',
    description: 'Every endpoint with its state and counts, never its secret (as `wa-bulk webhooks list --json`).',
    responses: { 200: json('the endpoints', api.endpointsSchema) },
  },
  {
    id: 'addWebhook',
    method: 'post',
    path: '/api/webhooks',
    tag: 'webhooks',
    summary: 'Add a webhook endpoint',
    description: 'As `wa-bulk webhooks add`: the answer holds its signing secret, the only time it is shown.',
    body: { 'application/json': api.addEndpointBodySchema },
    responses: {
      201: json('the endpoint, with its secret', api.addedEndpointSchema),
      400: BAD_REQUEST,
      415: NOT_JSON,
    },
  },
  ...(
    [
      ['get', '', 'getWebhook', 'Read a webhook endpoint', json('the endpoint', api.endpointSchema)],
      [
        'delete',
        '',
        'removeWebhook',
        'Remove a webhook endpoint',
        json('removed', z.object({ id: z.string(), removed: z.literal(true) })),
      ],
      [
        'post',
        '/rotate-secret',
        'rotateWebhookSecret',
        'Rotate its signing secret (both sign for a while)',
        json('the new secret', api.rotatedSecretSchema),
      ],
      ['post', '/enable', 'enableWebhook', 'Enable a disabled endpoint', json('the endpoint', api.endpointSchema)],
      [
        'post',
        '/test',
        'testWebhook',
        'Send it a webhook.test event now',
        json('what the endpoint answered', api.webhookTestSchema),
      ],
      [
        'get',
        '/deliveries',
        'webhookDeliveries',
        'Deliveries waiting for a retry, and exhausted ones',
        json('the deliveries', api.webhookDeliveriesSchema),
      ],
    ] as const
  ).map(([method, suffix, id, summary, answer]): RouteDoc => ({
    id,
    method,
    path: `/api/webhooks/{id}${suffix}`,
    tag: 'webhooks',
    summary,
    path_params: z.object({ id: z.string().meta({ description: "the endpoint's id (`env` for WEBHOOK_URL's)" }) }),
    responses: { 200: answer, 400: BAD_REQUEST, 404: error('no endpoint with this id') },
  })),
  {
    id: 'replayWebhook',
    method: 'post',
    path: '/api/webhooks/{id}/replay',
    tag: 'webhooks',
    summary: 'Replay exhausted deliveries',
    description: 'As `wa-bulk webhooks replay`: the exhausted deliveries (since a time, or all) sent again.',
    path_params: z.object({ id: z.string().meta({ description: "the endpoint's id" }) }),
    body: {
      'application/json': z.object({
        since: z.string().optional().meta({ description: 'an ISO time, or a duration back from now (2h, 3d)' }),
      }),
    },
    responses: {
      200: json('how many', z.object({ id: z.string(), replayed: z.number().int().nonnegative() })),
      400: BAD_REQUEST,
      404: error('no endpoint with this id'),
      415: NOT_JSON,
    },
  },
  {
    id: 'healthz',
    method: 'get',
    path: '/healthz',
    tag: 'health',
    summary: 'Up or down',
    isPublic: true,
    description: 'For load balancers and orchestrators: whether Redis answers, and nothing more.',
    responses: { 200: json('Redis answers', api.healthzSchema), 503: json('Redis does not answer', api.healthzSchema) },
  },
  {
    id: 'getHealth',
    method: 'get',
    path: '/api/health',
    tag: 'health',
    summary: "The Redis connection's health",
    responses: {
      200: json('Redis answers', api.healthSchema),
      503: json('Redis does not answer', api.healthDownSchema),
    },
  },
  {
    id: 'metrics',
    method: 'get',
    path: '/metrics',
    tag: 'health',
    summary: 'Prometheus metrics',
    responses: { 200: text("Prometheus' text format", 'text/plain', 'metrics') },
  },
  ...['/callbacks/engagelab', '/callbacks/engagelab/{token}'].map((path): RouteDoc => ({
    id: path.endsWith('}') ? 'engagelabCallbacksWithToken' : 'engagelabCallbacks',
    method: 'post',
    path,
    tag: 'callbacks',
    summary: path.endsWith('}') ? "EngageLab's status callbacks, at the token's URL" : "EngageLab's status callbacks",
    description:
      "Set as the message status callback URL in EngageLab's console. With CALLBACK_TOKEN set, the URL must end with the token (any other path answers 404); without it, the receiver answers on loopback only. A well-formed batch is answered at once and applied afterwards.",
    isPublic: true,
    ...(path.endsWith('}') && {
      path_params: z.object({
        token: z.string().meta({ description: 'CALLBACK_TOKEN (either one, during a rotation)' }),
      }),
    }),
    body: { 'application/json': callbackBatch },
    responses: {
      200: json('the batch was taken', api.callbackAnswerSchema),
      400: error('not a batch: a body without 1 to 10,000 rows (a row of an unknown shape is kept aside, not refused)'),
      403: error(
        'a source outside CALLBACK_ALLOW_FROM, or, without DASHBOARD_PASSWORD and CALLBACK_TOKEN, a request not addressed to this machine',
      ),
      404: error('a path without the right token'),
      413: error('a body over 1 MiB'),
      415: NOT_JSON,
      503: error('Redis is unreachable; EngageLab does not retry'),
    },
  })),
  {
    id: 'listKeys',
    method: 'get',
    path: '/api/keys',
    tag: 'keys and audit',
    summary: 'List API keys',
    description: 'Every key, never the key itself.',
    responses: { 200: json('the keys', api.keysSchema) },
  },
  {
    id: 'createKey',
    method: 'post',
    path: '/api/keys',
    tag: 'keys and audit',
    summary: 'Create an API key',
    body: { 'application/json': api.createKeyBodySchema },
    responses: {
      201: json('the new key: the only time it is shown', api.newKeySchema),
      400: BAD_REQUEST,
      409: error('the name has a live key'),
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
  {
    id: 'rollKey',
    method: 'post',
    path: '/api/keys/{name}/roll',
    tag: 'keys and audit',
    summary: 'Roll an API key',
    description: 'A new key for the name, its role and rate; the old one keeps working for `overlap`.',
    path_params: z.object({ name: api.keyNameParam }),
    body: { 'application/json': api.rollKeyBodySchema },
    responses: {
      201: json('the new key, and when the old one stops', api.rolledKeySchema),
      400: BAD_REQUEST,
      404: error('no live key of this name'),
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
  {
    id: 'revokeKey',
    method: 'delete',
    path: '/api/keys/{name}',
    tag: 'keys and audit',
    summary: 'Revoke an API key',
    description: 'Revokes every live key of the name, at once in every dashboard process.',
    path_params: z.object({ name: api.keyNameParam }),
    responses: {
      200: json('how many were revoked', api.revokedSchema),
      404: error('no live key of this name'),
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
  {
    id: 'readAudit',
    method: 'get',
    path: '/api/audit',
    tag: 'keys and audit',
    summary: 'Read the audit log',
    description: 'Oldest first.',
    query: api.auditQuerySchema,
    responses: { 200: json('the entries', api.auditSchema), 400: BAD_REQUEST },
  },
  {
    id: 'campaignActors',
    method: 'get',
    path: '/api/audit/campaigns',
    tag: 'keys and audit',
    summary: 'Who last paused, resumed or cancelled each campaign',
    responses: { 200: json('by campaign id', api.auditCampaignsSchema) },
  },
  {
    id: 'openApiDocument',
    method: 'get',
    path: '/api/openapi.json',
    tag: 'contract',
    summary: 'This document',
    responses: {
      200: json(
        'the OpenAPI 3.1 document',
        z.looseObject({
          openapi: z.string(),
          info: z.looseObject({ title: z.string(), version: z.string() }),
          paths: z.record(z.string(), z.unknown()),
        }),
      ),
    },
  },
  {
    id: 'openApiPage',
    method: 'get',
    path: '/api/docs',
    tag: 'contract',
    summary: 'This document, as a page',
    responses: { 200: text('a readable reference', 'text/html', 'a page') },
  },
];
