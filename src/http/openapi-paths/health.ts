import { z } from 'zod';
import { callbackRowSchema } from '../../engagelab/callbacks.js';
import * as api from '../api-schemas.js';
import { type RouteDoc, json, error, text, NOT_JSON } from './shared.js';

/** Health, metrics and EngageLab's callback receiver. */
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

export const HEALTH_ROUTES: readonly RouteDoc[] = [
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
];
