import { z } from 'zod';
import * as admin from '../admin-schemas.js';
import * as request from '../request-schemas.js';
import { type RouteDoc, json, error, NOT_JSON, BAD_REQUEST, TOO_LARGE, BODY_REFUSALS } from './shared.js';

/** What WEBHOOK_URL's endpoint (`env`) refuses over the API: the configuration sets it again at every start. */
const CONFIGURED_ONLY = new Set(['removeWebhook', 'rotateWebhookSecret']);

/** Webhook endpoints (admin). */
export const WEBHOOK_ROUTES: readonly RouteDoc[] = [
  {
    id: 'listWebhooks',
    method: 'get',
    path: '/api/webhooks',
    tag: 'webhooks',
    summary: 'List webhook endpoints',
    description: 'Every endpoint with its state and counts, never its secret (as `wa-bulk webhooks list --json`).',
    responses: { 200: json('the endpoints', admin.endpointsSchema) },
  },
  {
    id: 'addWebhook',
    method: 'post',
    path: '/api/webhooks',
    tag: 'webhooks',
    summary: 'Add a webhook endpoint',
    description: 'As `wa-bulk webhooks add`: the answer holds its signing secret, the only time it is shown.',
    body: { 'application/json': admin.addEndpointBodySchema },
    responses: {
      201: json('the endpoint, with its secret', admin.addedEndpointSchema),
      400: BAD_REQUEST,
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
  ...(
    [
      ['get', '', 'getWebhook', 'Read a webhook endpoint', json('the endpoint', admin.endpointSchema)],
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
        json('the new secret', admin.rotatedSecretSchema),
      ],
      ['post', '/enable', 'enableWebhook', 'Enable a disabled endpoint', json('the endpoint', admin.endpointSchema)],
      [
        'post',
        '/test',
        'testWebhook',
        'Send it a webhook.test event now',
        json('what the endpoint answered', admin.webhookTestSchema),
      ],
      [
        'get',
        '/deliveries',
        'webhookDeliveries',
        'Deliveries waiting for a retry, and exhausted ones',
        json('the deliveries', admin.webhookDeliveriesSchema),
      ],
    ] as const
  ).map(([method, suffix, id, summary, answer]): RouteDoc => ({
    id,
    method,
    path: `/api/webhooks/{id}${suffix}`,
    tag: 'webhooks',
    summary,
    path_params: z.object({ id: z.string().meta({ description: "the endpoint's id (`env` for WEBHOOK_URL's)" }) }),
    // A changing route takes no fields: nothing, or `{}`.
    ...(method !== 'get' && { body: { 'application/json': request.emptyBodySchema } }),
    responses: {
      200: answer,
      400: BAD_REQUEST,
      404: error('no endpoint with this id'),
      ...(method !== 'get' && BODY_REFUSALS),
      ...(CONFIGURED_ONLY.has(id) && { 409: error("the endpoint is `env`, WEBHOOK_URL's: change it there") }),
    },
  })),
  {
    id: 'replayWebhook',
    method: 'post',
    path: '/api/webhooks/{id}/replay',
    tag: 'webhooks',
    summary: 'Replay exhausted deliveries',
    description: 'As `wa-bulk webhooks replay`: the exhausted deliveries (since a time, or all) sent again.',
    path_params: z.object({ id: z.string().meta({ description: "the endpoint's id" }) }),
    body: { 'application/json': admin.replayWebhookBodySchema },
    responses: {
      200: json('how many', z.object({ id: z.string(), replayed: z.number().int().nonnegative() })),
      400: BAD_REQUEST,
      404: error('no endpoint with this id'),
      413: TOO_LARGE,
      415: NOT_JSON,
    },
  },
];
