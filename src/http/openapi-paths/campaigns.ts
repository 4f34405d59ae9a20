import { z } from 'zod';
import { messageRecordSchema } from '../../ledger/schemas.js';
import { messageSchema } from '../../messages/schema.js';
import * as api from '../api-schemas.js';
import * as request from '../request-schemas.js';
import {
  type RouteDoc,
  json,
  error,
  text,
  campaign,
  UNKNOWN_CAMPAIGN,
  NOT_JSON,
  BAD_REQUEST,
  TOO_LARGE,
  CSV_MEDIA,
} from './shared.js';

/** Enqueueing, the pages, campaigns, opt-outs, messages and dead letters. */
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

export const CAMPAIGN_ROUTES: readonly RouteDoc[] = [
  {
    id: 'enqueueMessages',
    method: 'post',
    path: '/api/campaigns/{id}/messages',
    tag: 'messages',
    summary: 'Enqueue messages',
    description:
      'A JSON array, or NDJSON (one message a line; read as it streams in when `preflight=false`), of at most 16 MiB. Over it, 413 says what was taken: the lines before the limit of a streamed NDJSON body are enqueued, and `last_line` names the last one, so that the client resends from the next (a line sent twice is a duplicate); any other body has nothing taken. A cancelled campaign is refused with 409 before the body is read. Each message is checked as `wa-bulk enqueue` checks a line: an invalid one is rejected on its own (in `rejects`, by item number from 1), never the whole request. Preflight checks templates and media first unless `preflight=false`.',
    path_params: campaign,
    query: request.enqueueQuerySchema,
    body: {
      'application/json': z.array(message),
      'application/x-ndjson': z.string().meta({
        description: 'one message (the Message schema) a line; application/ndjson and application/jsonl are taken too',
      }),
    },
    responses: {
      200: json('what was enqueued and what was rejected, line by line', api.enqueueSummarySchema),
      400: BAD_REQUEST,
      409: json('the campaign is cancelled: nothing was read or enqueued', api.campaignClosedSchema),
      413: json('the body is over 16 MiB: what was taken of it, and the last line taken', api.enqueueTooLargeSchema),
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
    query: request.exportQuerySchema,
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
      'In ledger (enqueue) order, or the newest first with `order=newest`, filtered as `wa-bulk export` filters (docs/campaigns.md#outcome-filters): kinds must all match, the values of one kind (a comma list) are alternatives. A page looks at 10,000 messages at most, so it may hold fewer than `limit` (even none) while `next_cursor` is not null.',
    path_params: campaign,
    query: request.messagesQuerySchema,
    responses: {
      200: json('a page of messages and the cursor of the next', api.messagesPageSchema),
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
    },
  },
  {
    id: 'campaignTimeline',
    method: 'get',
    path: '/api/campaigns/{id}/timeline',
    tag: 'campaigns',
    summary: "A campaign's sends and delivery states by minute",
    description:
      'For a chart of the campaign over time: per minute, the messages sent (accepted by EngageLab) and those reported delivered, read or failed, each message counted once per state it reaches, in the minute of its callback (docs/campaigns.md#inside-a-campaign).',
    path_params: campaign,
    responses: {
      200: json('the minutes with counts, oldest first', api.timelineSchema),
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
    query: request.rejectsQuerySchema,
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
    body: { 'application/json': action === 'pause' ? request.pauseBodySchema : request.emptyBodySchema },
    responses: {
      200: json(
        'the campaign object',
        action === 'pause' ? api.campaignViewSchema : action === 'resume' ? api.resumedSchema : api.cancelledSchema,
      ),
      400: BAD_REQUEST,
      404: UNKNOWN_CAMPAIGN,
      ...(action === 'pause' && {
        409: json('the campaign is done (no message pending) or cancelled: nothing to pause', api.campaignClosedSchema),
      }),
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
    query: request.suppressionQuerySchema,
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
    body: { 'application/json': request.numbersBodySchema },
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
    body: { 'application/json': request.emptyBodySchema },
    responses: {
      200: json('its record, now skipped', messageRecordSchema),
      400: BAD_REQUEST,
      404: json('no message with this request_id', api.notRemovedSchema),
      409: json('the message cannot go back: `state` says why', api.notRemovedSchema),
      413: TOO_LARGE,
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
    query: request.deadFilterQuerySchema,
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
    body: { 'application/json': request.deadFilterBodySchema },
    responses: {
      200: json('what was done', action === 'replay' ? api.replayedSchema : api.purgedSchema),
      400: BAD_REQUEST,
      413: TOO_LARGE,
      ...(action === 'replay' && {
        409: json(
          'the filter names a cancelled campaign: nothing replayed, its dead letters kept',
          api.replayRefusedSchema,
        ),
      }),
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
    query: request.unknownRowsQuerySchema,
    responses: { 200: json('the rows', api.unknownRowsSchema), 400: BAD_REQUEST },
  },
];
