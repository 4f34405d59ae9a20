import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_SCHEMAS, EVENT_TYPES, webhookEventSchema } from '../../src/events/schema.js';
import { apiDocsPage } from '../../src/http/api-docs-page.js';
import { ROLE_WORDS, expressPath, openApiDocument, openApiText, roleOf } from '../../src/http/openapi.js';
import { ROUTE_DOCS } from '../../src/http/openapi-paths/index.js';
import { ROUTE_ROLES } from '../../src/http/route-roles.js';
import { toCampaign, toRecord } from '../../src/ledger/records.js';

/** The published contract: generated, committed, linted, and held to the route table and the docs. */

const root = fileURLToPath(new URL('../../', import.meta.url));
const document = openApiDocument();
type Operation = { 'x-wa-bulk-role'?: string; security?: unknown[]; operationId?: string };
const operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
  Object.entries(item as Record<string, Operation>).map(([method, op]) => ({ method, path, op })),
);

describe('the OpenAPI document', () => {
  test('docs/openapi.json is the document the code generates (`npm run openapi` writes it)', () => {
    expect(readFileSync(`${root}docs/openapi.json`, 'utf8')).toBe(openApiText());
  });

  test('lints clean with @redocly/cli, offline', () => {
    const run = spawnSync(`${root}node_modules/.bin/redocly`, ['lint', 'docs/openapi.json', '--format=json'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const report = JSON.parse(run.stdout) as { totals: { errors: number; warnings: number }; problems: unknown[] };
    expect(report.problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
    expect(run.status).toBe(0);
  });

  test('describes every route of the role table, each with the role the access middleware gives it', () => {
    const described = new Map(
      operations.map(({ method, path, op }) => [`${method.toUpperCase()} ${expressPath(path)}`, op['x-wa-bulk-role']]),
    );
    for (const row of ROUTE_ROLES) {
      const key = row.method === 'ANY' ? `GET ${row.path.replace(/\/\*$/, '')}` : `${row.method} ${row.path}`;
      expect([key, described.get(key)]).toEqual([key, ROLE_WORDS[row.need]]);
    }
    // Public routes say so and drop the security requirement; no other route is public.
    const open = operations.filter(({ op }) => op['x-wa-bulk-role'] === 'public');
    expect(open.map(({ method, path }) => `${method} ${path}`).sort()).toEqual([
      'get /healthz',
      'post /callbacks/engagelab',
      'post /callbacks/engagelab/{token}',
    ]);
    for (const { op } of open) expect(op.security).toEqual([]);
    expect(document.security).toEqual([{ basic: [] }, { bearer: [] }]);
    expect(new Set(operations.map(({ op }) => op.operationId)).size).toBe(operations.length);
  });

  test('every route that takes a body declares the refusals of one: 400, 413 and 415', () => {
    const bodies = operations.filter(({ op }) => 'requestBody' in op);
    expect(bodies.length).toBeGreaterThan(20);
    for (const { method, path, op } of bodies) {
      const where = `${method} ${path}`;
      const statuses = Object.keys((op as { responses: object }).responses);
      expect([where, ['400', '413', '415'].filter((status) => !statuses.includes(status))]).toEqual([where, []]);
    }
  });

  test('every request body and query refuses a field it does not name', () => {
    let checked = 0;
    for (const route of ROUTE_DOCS) {
      const where = `${route.method} ${route.path}`;
      for (const schema of [route.query, ...Object.values(route.body ?? {})]) {
        // The messages route's body is a list of messages (src/messages), the callbacks' EngageLab's rows.
        if (!(schema instanceof z.ZodObject) || route.path.startsWith('/callbacks/')) continue;
        const issues = schema.safeParse({ campain: 'x' }).error?.issues ?? [];
        expect([where, issues.find((issue) => issue.code === 'unrecognized_keys')?.message]).toEqual([
          where,
          'unknown field "campain"',
        ]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  test('describes every route docs/http-api.md lists, with the same role, and no other', () => {
    const page = readFileSync(`${root}docs/http-api.md`, 'utf8');
    const listed = new Map<string, string>();
    for (const line of page.split('\n')) {
      const match = /^\| `([^`]+)` \| (\w+) \|/.exec(line);
      if (!match) continue;
      const [method, path] = (match[1] as string).includes(' ')
        ? (match[1] as string).split(' ')
        : ['GET', match[1] as string];
      // `/callbacks/engagelab[/<CALLBACK_TOKEN>]` is both paths.
      const paths = (path as string).includes('[')
        ? [(path as string).replace(/\[.*\]/, ''), (path as string).replace(/\[\/<\w+>\]/, '/:token')]
        : [path as string];
      for (const p of paths) listed.set(`${method} ${p}`, match[2] as string);
    }
    const described = new Map(
      ROUTE_DOCS.map((route) => [`${route.method.toUpperCase()} ${expressPath(route.path)}`, roleOf(route)]),
    );
    expect(Object.fromEntries(described)).toEqual(Object.fromEntries(listed));
  });

  test('lists every webhook event type and the batch with a schema of its own, and the Standard Webhooks headers', () => {
    const posted = [...EVENT_TYPES, 'webhook.disabled', 'webhook.test', 'batch'];
    expect(Object.keys(document.webhooks ?? {})).toEqual(posted);
    const schemas = document.components?.schemas as Record<string, { properties: { type: { const: string } } }>;
    for (const type of posted) {
      const post = (document.webhooks?.[type] as unknown as { post: unknown }).post as {
        requestBody: { content: { 'application/json': { schema: { $ref: string } } } };
        parameters: Array<{ name: string; in: string; required: boolean }>;
      };
      const ref = post.requestBody.content['application/json'].schema.$ref;
      expect(schemas[ref.split('/').pop() as string]?.properties.type.const).toBe(type);
      expect(post.parameters.map((p) => [p.name, p.in, p.required])).toEqual([
        ['webhook-id', 'header', true],
        ['webhook-timestamp', 'header', true],
        ['webhook-signature', 'header', true],
      ]);
    }
  });

  test('answers may gain fields in the published document, and not in the tests', () => {
    const open = document.components?.schemas?.MessageRecord as { additionalProperties?: unknown };
    const closed = openApiDocument({ closed: true }).components?.schemas?.MessageRecord as {
      additionalProperties?: unknown;
    };
    expect(open.additionalProperties).toBeUndefined();
    expect(closed.additionalProperties).toBe(false);
  });
});

describe('the webhook events', () => {
  const now = Date.now();
  const record = toRecord('order-17', {
    campaign: 'spring',
    to: '447911123456',
    status: 'sent',
    message_id: 'wamid-1',
    attempts: '1',
    updated_at: String(now),
    delivery_status: 'delivered',
    delivery_at: String(now),
  });
  const at = new Date(now).toISOString();

  test("a message event's data is the record the ledger reads, with its custom_args", () => {
    const event = { type: 'message.delivered', timestamp: at, data: { ...record, custom_args: { order: 17 } } };
    expect(EVENT_SCHEMAS['message.delivered'].parse(event)).toEqual(event);
    expect(webhookEventSchema.parse(event)).toEqual(event);
    // The type says what happened, and the record must agree.
    expect(EVENT_SCHEMAS['message.read'].safeParse({ ...event, type: 'message.read' }).success).toBe(false);
    expect(EVENT_SCHEMAS['message.dead'].safeParse({ ...event, type: 'message.dead' }).success).toBe(false);
    expect(webhookEventSchema.safeParse({ ...event, data: record }).success).toBe(false);
  });

  test("a campaign event's data is the campaign object, with who acted", () => {
    const campaign = toCampaign('spring', {
      total: '2',
      sent: '2',
      started_at: String(now - 1000),
      last_at: String(now),
    });
    const event = { type: 'campaign.done', timestamp: at, data: { ...campaign, by: 'system:campaign-watch' } };
    expect(webhookEventSchema.parse(event)).toEqual(event);
    expect(webhookEventSchema.safeParse({ ...event, type: 'campaign.paused' }).success).toBe(false);
  });
});

describe('the reference page', () => {
  const page = apiDocsPage(document);

  test('shows every operation with its role, every event and every schema, and loads nothing from elsewhere', () => {
    for (const { op } of operations) expect(page).toContain(`id="op-${op.operationId as string}"`);
    for (const type of [...EVENT_TYPES, 'webhook.disabled', 'webhook.test', 'batch'])
      expect(page).toContain(`<code>${type}</code>`);
    for (const name of Object.keys(document.components?.schemas ?? {})) expect(page).toContain(`id="schema-${name}"`);
    expect(page).toContain('<span class="role">control</span>');
    expect(page).not.toMatch(/<script|src="http|href="http/);
  });

  test('escapes what it shows', () => {
    const hostile = apiDocsPage({
      ...document,
      info: { ...document.info, description: '<img src=x onerror=alert(1)>' },
    });
    expect(hostile).not.toContain('<img');
    expect(hostile).toContain('&lt;img');
  });
});
