import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import {
  createDocument,
  type oas31,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { rolesFor, type Need } from '../access/roles.js';
import { packageRoot } from '../dev/paths.js';
import { batchSchema, OPERATIONAL_SCHEMAS } from '../events/operational.js';
import { EVENT_SCHEMAS } from '../events/schema.js';
import { errorSchema } from './api-schemas.js';
import { emptyBodySchema } from './request-schemas.js';
import { ROUTE_DOCS, type Answer, type RouteDoc } from './openapi-paths/index.js';
import { routeOf } from './route-roles.js';

/**
 * The HTTP API's contract: an OpenAPI 3.1 document generated (zod-openapi) from the zod schemas that
 * validate requests and describe answers, with each operation's role from the route table the access
 * middleware reads, and the webhook events under `webhooks`. Served at /api/openapi.json and /api/docs, and
 * written to docs/openapi.json by `npm run openapi` (a test holds the file to this).
 *
 * Answers' objects are open in the published document (docs/cli.md: fields may be added); the tests check
 * answers against the closed variant, so that a field the contract does not name fails them.
 */

export type OpenApiDocument = oas31.OpenAPIObject;

/** The word docs/http-api.md uses for each need. */
export const ROLE_WORDS: Readonly<Record<Need, string>> = {
  send: 'send',
  'read-one': 'any',
  read: 'read',
  control: 'control',
  admin: 'admin',
};

/** `/api/campaigns/{id}` as Express writes it: `/api/campaigns/:id`. */
export const expressPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');

/** The role word of a route: `public`, or what its row of the route table needs (admin without one). */
export function roleOf(route: Pick<RouteDoc, 'method' | 'path' | 'isPublic'>): string {
  if (route.isPublic) return 'public';
  return ROLE_WORDS[routeOf(route.method.toUpperCase(), expressPath(route.path))?.row.need ?? 'admin'];
}

function roleLine(route: RouteDoc): string {
  if (route.isPublic) return 'Role: **public** (no credentials).';
  const need = routeOf(route.method.toUpperCase(), expressPath(route.path))?.row.need ?? 'admin';
  return `Role: **${ROLE_WORDS[need]}**: ${rolesFor(need).join(', ')} keys, and the operator's login.`;
}

const errorBody = { 'application/json': { schema: errorSchema } };
const retryAfter = z.object({
  'Retry-After': z.string().meta({ description: 'seconds to wait' }),
});
/** What every route behind the login may answer, besides its own answers. */
const COMMON: Record<string, ZodOpenApiResponseObject> = {
  401: {
    id: 'Unauthorized',
    description: 'no credentials, a wrong password, or a key that is unknown, revoked or expired',
    content: errorBody,
    headers: z.object({ 'WWW-Authenticate': z.string().meta({ description: 'Basic or Bearer' }) }),
  },
  403: {
    id: 'Forbidden',
    description:
      "the key's role may not call this route; a changing request from another site; or, without DASHBOARD_PASSWORD, a request not addressed to this machine",
    content: errorBody,
  },
  429: {
    id: 'TooManyRequests',
    description: "over the key's rate, or too many refused credentials from one client",
    content: errorBody,
    headers: retryAfter,
  },
  503: {
    id: 'Unavailable',
    description: 'Redis is unreachable; try again shortly',
    content: errorBody,
    headers: retryAfter,
  },
  500: { id: 'InternalError', description: 'an unexpected failure (logged)', content: errorBody },
};

function response(answer: Answer): ZodOpenApiResponseObject {
  const content: NonNullable<ZodOpenApiResponseObject['content']> = {};
  if (answer.json)
    content['application/json'] = {
      schema: Array.isArray(answer.json) ? z.union(answer.json as [z.ZodType, ...z.ZodType[]]) : answer.json,
    };
  for (const [media, what] of Object.entries(answer.media ?? {}))
    content[media] = { schema: { type: 'string', description: what } };
  return { description: answer.description, ...(Object.keys(content).length > 0 && { content }) };
}

function operation(route: RouteDoc): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {};
  for (const [status, answer] of Object.entries(route.responses)) responses[status] = response(answer);
  for (const [status, common] of Object.entries(COMMON))
    if (!route.isPublic && !(status in responses)) responses[status] = common;
  if (route.isPublic && !('500' in responses)) responses[500] = COMMON[500] as ZodOpenApiResponseObject;
  return {
    operationId: route.id,
    tags: [route.tag],
    summary: route.summary,
    description: [route.description, roleLine(route)].filter(Boolean).join('\n\n'),
    'x-wa-bulk-role': roleOf(route),
    ...(route.isPublic && { security: [] }),
    ...((route.path_params || route.query) && {
      requestParams: {
        ...(route.path_params && { path: route.path_params }),
        ...(route.query && { query: route.query }),
      },
    }),
    ...(route.body && {
      requestBody: {
        // A route that takes no fields takes no body too (or `{}`).
        required: Object.values(route.body).some((schema) => schema !== emptyBodySchema),
        content: Object.fromEntries(Object.entries(route.body).map(([media, schema]) => [media, { schema }])),
      },
    }),
    responses,
  };
}

const webhookHeaders = z.object({
  'webhook-id': z
    .string()
    .meta({ description: "the event's id: the same on every retry, the receiver's idempotency key" }),
  'webhook-timestamp': z.string().meta({ description: 'when this attempt was sent, in seconds since the epoch' }),
  'webhook-signature': z.string().meta({
    description:
      'space-separated `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret (two during a rotation): Standard Webhooks v1',
  }),
});

/** Every body an endpoint may be posted: each event type's, and a batch of them. */
const POSTED_BODIES = { ...EVENT_SCHEMAS, ...OPERATIONAL_SCHEMAS, batch: batchSchema } as const;

function webhooks(): ZodOpenApiPathsObject {
  const paths: ZodOpenApiPathsObject = {};
  for (const [type, schema] of Object.entries(POSTED_BODIES))
    paths[type] = {
      post: {
        operationId: type.replace(/[._](\w)/g, (_m, c: string) => c.toUpperCase()),
        tags: ['events'],
        summary: type,
        description: schema.meta()?.description ?? type,
        security: [],
        requestParams: { header: webhookHeaders },
        requestBody: { required: true, content: { 'application/json': { schema } } },
        responses: {
          200: { description: 'taken: any 2xx is; anything else, a redirect included, is retried' },
          410: { description: 'the endpoint is gone: wa-bulk disables it' },
        },
      },
    };
  return paths;
}

const TAGS = [
  ['messages', 'enqueue messages and read what became of them'],
  ['campaigns', 'list, read, export, pause, resume and cancel campaigns'],
  ['dead letters', 'list, replay and purge the dead letters of every campaign'],
  ['opt-outs', 'the opt-out (suppression) list'],
  ['keys and audit', 'API keys and the audit log (admin)'],
  ['webhooks', 'the endpoints wa-bulk posts its events to (admin)'],
  ['health', 'health and metrics'],
  ['pages', "the operator's pages"],
  ['callbacks', "EngageLab's delivery callbacks"],
  ['contract', 'this document'],
  ['events', 'the events wa-bulk posts to webhook endpoints (Standard Webhooks v1)'],
] as const;

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function build(closed: boolean): OpenApiDocument {
  const paths: ZodOpenApiPathsObject = {};
  for (const route of ROUTE_DOCS) (paths[route.path] ??= {})[route.method] = operation(route);
  return createDocument(
    {
      openapi: '3.1.0',
      info: {
        title: 'wa-bulk',
        version: version(),
        description:
          'wa-bulk\'s HTTP API (served by `wa-bulk dashboard`), its receiver of EngageLab\'s delivery callbacks, and the events it posts to webhooks. Each operation names the role it needs (`x-wa-bulk-role`): `any` is every key, `public` needs nothing. Errors are `{"error"}`. Objects in answers may gain fields.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: 'http://127.0.0.1:3000', description: 'the dashboard: DASHBOARD_HOST and DASHBOARD_PORT' }],
      tags: TAGS.map(([name, description]) => ({ name, description })),
      security: [{ basic: [] }, { bearer: [] }],
      paths,
      webhooks: webhooks(),
      components: {
        securitySchemes: {
          basic: {
            type: 'http',
            scheme: 'basic',
            description: "the operator's login: DASHBOARD_USER and DASHBOARD_PASSWORD",
          },
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'an API key (`wab_…`), made by `wa-bulk keys create`',
          },
        },
      },
    },
    {
      // Output objects stay closed only in the tests' variant: the published contract lets answers gain fields.
      override: ({ jsonSchema, io }) => {
        if (!closed && io === 'output' && jsonSchema.additionalProperties === false)
          delete jsonSchema.additionalProperties;
        // zod bounds every integer by the safe range: true of every JSON number a client parses, and noise here.
        if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
        if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      },
    },
  );
}

const built = new Map<boolean, OpenApiDocument>();

/** The contract; `{ closed: true }` for the tests' variant, where answers may carry no field it does not name. */
export function openApiDocument(options: { closed?: boolean } = {}): OpenApiDocument {
  const closed = options.closed ?? false;
  let document = built.get(closed);
  if (!document) built.set(closed, (document = build(closed)));
  return document;
}

/** The published document as `npm run openapi` writes it. */
export function openApiText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

/** Writes the published document (`npm run openapi`: docs/openapi.json). */
export function writeOpenApi(path: string): void {
  writeFileSync(path, openApiText());
}
