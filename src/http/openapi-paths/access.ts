import { z } from 'zod';
import * as admin from '../admin-schemas.js';
import * as api from '../api-schemas.js';
import { emptyBodySchema } from '../request-schemas.js';
import { type RouteDoc, json, error, text, NOT_JSON, BAD_REQUEST, TOO_LARGE } from './shared.js';

/** API keys, the audit log and the contract itself. */
export const ACCESS_ROUTES: readonly RouteDoc[] = [
  {
    id: 'listKeys',
    method: 'get',
    path: '/api/keys',
    tag: 'keys and audit',
    summary: 'List API keys',
    description: 'Every key, never the key itself.',
    responses: { 200: json('the keys', admin.keysSchema) },
  },
  {
    id: 'createKey',
    method: 'post',
    path: '/api/keys',
    tag: 'keys and audit',
    summary: 'Create an API key',
    body: { 'application/json': admin.createKeyBodySchema },
    responses: {
      201: json('the new key: the only time it is shown', admin.newKeySchema),
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
    body: { 'application/json': admin.rollKeyBodySchema },
    responses: {
      201: json('the new key, and when the old one stops', admin.rolledKeySchema),
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
    body: { 'application/json': emptyBodySchema },
    responses: {
      200: json('how many were revoked', admin.revokedSchema),
      400: BAD_REQUEST,
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
    query: admin.auditQuerySchema,
    responses: { 200: json('the entries', admin.auditSchema), 400: BAD_REQUEST },
  },
  {
    id: 'campaignActors',
    method: 'get',
    path: '/api/audit/campaigns',
    tag: 'keys and audit',
    summary: 'Who last paused, resumed or cancelled each campaign',
    responses: { 200: json('by campaign id', admin.auditCampaignsSchema) },
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
