import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { z } from 'zod';
import type { Dashboard } from '../../src/http/dashboard.js';
import { ROUTE_DOCS, type RouteDoc } from '../../src/http/openapi-paths/index.js';
import { contract, startDashboard } from '../helpers/contract.js';
import { useFileStack } from '../helpers/stack.js';

/**
 * The contract's request schemas are the ones the routes parse with: for every route the document gives a
 * query or a body, one request the route's own schema refuses, sent to a real dashboard, must be refused
 * with 400 and an error that starts with the field's name ("limit: …", "body must …"). A route added to the contract with a query or a
 * body and no row here fails the table's first test.
 */

const PASSWORD = 'password-for-request-schemas';
const TOKEN = 'callback-token-for-request-schemas';
const AUTH = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };

interface Invalid {
  /** A query string (repeated names arrive as a list, as Express reads them). */
  query?: string;
  /** A JSON body. */
  body?: unknown;
  /** How the answer's error starts: the field it names. */
  field: string;
}

/** By operationId: requests the route's schema refuses. */
const INVALID: Record<string, Invalid[]> = {
  enqueueMessages: [
    { query: 'priority=urgent', field: 'priority' },
    { query: 'preflight=no', field: 'preflight' },
    { query: 'at=1&at=2', field: 'at' },
    { body: { to: ['+15550100'] }, field: 'body' },
    { query: 'prioirty=low', field: 'query' },
  ],
  exportCampaign: [
    { query: 'format=xml', field: 'format' },
    { query: 'status=sent&status=dead', field: 'status' },
    { query: 'stauts=dead', field: 'query' },
  ],
  listMessages: [
    { query: 'limit=1001', field: 'query limit' },
    { query: 'limit=0', field: 'query limit' },
    { query: 'stauts=dead', field: 'query' },
  ],
  listRejects: [
    { query: 'format=xml', field: 'format' },
    { query: 'fromat=csv', field: 'query' },
  ],
  pauseCampaign: [
    { body: { reason: 5 }, field: 'reason' },
    { body: { reasn: 'maintenance' }, field: 'body' },
  ],
  resumeCampaign: [
    { body: [], field: 'body' },
    { body: { now: true }, field: 'body' },
  ],
  cancelCampaign: [
    { body: [], field: 'body' },
    { body: { now: true }, field: 'body' },
  ],
  listSuppressions: [
    { query: 'number=1&number=2', field: 'number' },
    { query: 'numbr=1', field: 'query' },
  ],
  addSuppressions: [
    { body: { numbers: [] }, field: 'numbers' },
    { body: {}, field: 'numbers' },
    { body: { numbers: Array.from({ length: 1001 }, (_, i) => `+1555010${i}`) }, field: 'numbers' },
    { body: { numbers: ['+15550100'], note: 'x' }, field: 'body' },
  ],
  removeSuppressions: [
    { body: { numbers: [15550100] }, field: 'numbers[0]' },
    { body: { numbers: ['+15550100'], all: true }, field: 'body' },
  ],
  removeMessage: [
    { body: [], field: 'body' },
    { body: { force: true }, field: 'body' },
  ],
  listAllDeadLetters: [
    { query: 'code=x', field: 'query code' },
    { query: 'reason=bored', field: 'query reason' },
    { query: 'limit=10001', field: 'query limit' },
    { query: 'campaign=a%20b', field: 'query campaign' },
    { query: 'campain=zz', field: 'query' },
  ],
  replayDeadLetters: [
    { body: { code: 'x' }, field: 'body code' },
    { body: { code: 1.5 }, field: 'body code' },
    // A misspelt filter would otherwise be dropped, and every dead letter replayed or purged.
    { body: { campain: 'x' }, field: 'body' },
  ],
  purgeDeadLetters: [
    { body: { reason: 'bored' }, field: 'body reason' },
    { body: { campain: 'x' }, field: 'body' },
  ],
  listUnknownCallbackRows: [
    { query: 'limit=0', field: 'limit' },
    { query: 'limt=5', field: 'query' },
  ],
  createKey: [
    { body: { role: 'send' }, field: 'name' },
    { body: { name: 'dashboard', role: 'send' }, field: 'name' },
    { body: { name: 'shop', role: 'owner' }, field: 'role' },
    { body: { name: 'shop', role: 'send', rate: 1.5 }, field: 'rate' },
    { body: { name: 'shop', role: 'send', rate: [20] }, field: 'rate' },
    { body: { name: 'shop', role: 'read', rol: 'admin' }, field: 'body' },
  ],
  rollKey: [
    { body: { overlap: -1 }, field: 'overlap' },
    { body: { overlp: '0' }, field: 'body' },
  ],
  readAudit: [
    { query: 'limit=0', field: 'limit' },
    { query: 'actor=a&actor=b', field: 'actor' },
    { query: 'actr=a', field: 'query' },
  ],
  addWebhook: [
    { body: { url: 'https://example.com/hooks', batch: 0 }, field: 'batch' },
    { body: { url: 'https://example.com/hooks', batch: 1001 }, field: 'batch' },
    { body: { events: 'message.*' }, field: 'url' },
    { body: { url: 'https://example.com/hooks', events: 5 }, field: 'events' },
    { body: { url: 'https://example.com/hooks', campaign: 'a b' }, field: 'campaign' },
    { body: { url: 'https://example.com/hooks', evnets: 'message.sent' }, field: 'body' },
  ],
  replayWebhook: [
    { body: { since: 3 }, field: 'since' },
    { body: { snice: '5s' }, field: 'body' },
  ],
  listFollowups: [
    { query: 'from=a%20b', field: 'query from' },
    { query: 'form=a', field: 'query' },
  ],
  createFollowup: [
    { body: { where: 'not_read', after: '1d', campaign: 'b', text: 'hi' }, field: 'from' },
    { body: { from: 'a', where: 5, after: '1d', campaign: 'b', text: 'hi' }, field: 'where' },
    { body: { from: 'a', where: 'not_read', after: 3, campaign: 'b', text: 'hi' }, field: 'after' },
    {
      body: { from: 'a', where: 'not_read', after: '1d', campaign: 'b', template: 't', params: { body_1: 7 } },
      field: 'params.body_1',
    },
    {
      body: { from: 'a', where: 'not_read', after: '1d', campaign: 'b', template: 't', params: '{"body_1":"x"}' },
      field: 'params',
    },
    // A misspelt field is refused, not dropped (the rule would have no parameters).
    { body: { from: 'a', where: 'not_read', after: '1d', campaign: 'b', template: 't', param: {} }, field: 'body' },
  ],
  // The changing routes that take no body still read it: a field is refused, not ignored.
  ...Object.fromEntries(
    ['removeWebhook', 'rotateWebhookSecret', 'enableWebhook', 'testWebhook', 'cancelFollowup', 'revokeKey'].map(
      (id) => [
        id,
        [
          { body: { force: true }, field: 'body' },
          { body: [], field: 'body' },
        ],
      ],
    ),
  ),
  engagelabCallbacks: [{ body: { rows: [] }, field: 'rows' }],
  engagelabCallbacksWithToken: [{ body: { total: 1 }, field: 'rows' }],
};

/** Path parameters: each route's schema comes before its lookup, so an unknown id still gets the 400. */
const PARAMS: Record<string, string> = { id: 'nope', name: 'nobody', request_id: 'nothing', token: TOKEN };

const hasInput = (route: RouteDoc): boolean =>
  route.body !== undefined || Object.keys(route.query?.shape ?? {}).length > 0;

/** The query as Express reads it (`a=1&a=2` is a list), for the schema to judge. */
function queryOf(text: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    const had = query[name];
    query[name] = had === undefined ? value : [...(Array.isArray(had) ? had : [had]), value];
  }
  return query;
}

const stack = useFileStack();
let dashboard: Dashboard | undefined;
let withToken: Dashboard | undefined;
beforeAll(async () => {
  const { config } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
  dashboard = await stack.startDashboard(config, startDashboard);
  // With CALLBACK_TOKEN the receiver answers at the token's path only.
  withToken = await stack.startDashboard({ ...config, CALLBACK_TOKEN: TOKEN }, startDashboard);
});

describe('the routes parse their input with the contract’s schemas', () => {
  const routes = ROUTE_DOCS.filter(hasInput);

  it('has a row for every route the contract gives a query or a body, and none for another', () => {
    expect(routes.map((r) => r.id).sort()).toEqual(Object.keys(INVALID).sort());
  });

  const cases = routes.flatMap((route) => (INVALID[route.id] ?? []).map((invalid) => [route, invalid] as const));
  it.each(
    cases.map(([route, invalid]) => [`${route.method.toUpperCase()} ${route.path}`, invalid.field, route, invalid]),
  )('%s refuses a %s its schema refuses', async (_name, _field, route, invalid) => {
    const r = route as RouteDoc;
    const i = invalid as Invalid;
    // The schema the document publishes refuses it...
    if (i.query !== undefined) expect((r.query as z.ZodType).safeParse(queryOf(i.query)).success).toBe(false);
    if (i.body !== undefined) {
      const schema = r.body?.['application/json'] as z.ZodType;
      expect(schema.safeParse(i.body).success).toBe(false);
    }
    // ...and so does the route, naming the field.
    const server = r.id === 'engagelabCallbacksWithToken' ? withToken! : dashboard!;
    const path = r.path.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name] as string);
    const res = await fetch(`${server.url}${path}${i.query === undefined ? '' : `?${i.query}`}`, {
      method: r.method.toUpperCase(),
      headers: { ...AUTH, ...(i.body !== undefined && { 'Content-Type': 'application/json' }) },
      ...(i.body !== undefined && { body: JSON.stringify(i.body) }),
    });
    const answer = (await res.json()) as { error?: string };
    const named = answer.error?.startsWith(`${i.field}: `) || answer.error?.startsWith(`${i.field} must `);
    expect([res.status, named ? i.field : answer.error]).toEqual([400, i.field]);
  });
});

describe('every changing route reads its body before it acts, and declares each refusal', () => {
  const changing = ROUTE_DOCS.filter((route) => route.method !== 'get' && route.path.startsWith('/api/'));
  /** Refusals of the body, sent to every changing route: the status and its error, which the route must declare. */
  const REFUSALS: Array<[string, string, string | Uint8Array, number, RegExp]> = [
    ['malformed JSON', 'application/json', '{bad', 400, /JSON/],
    ['a body over 1 MB', 'application/json', JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }), 413, /large/],
    ['another media type', 'text/plain', '{}', 415, /^Content-Type must be/],
  ];
  const cases = changing.flatMap((route) =>
    REFUSALS
      // The messages route takes up to 16 MiB (its own 413 is tested with the enqueue).
      .filter(([, , , status]) => !(status === 413 && route.id === 'enqueueMessages'))
      .map((refusal) => [`${route.method.toUpperCase()} ${route.path}`, refusal[0], route, refusal] as const),
  );

  it.each(cases)('%s refuses %s, as its contract declares', async (_name, _what, route, refusal) => {
    const [, type, body, status, error] = refusal;
    const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => PARAMS[name] as string);
    const res = await fetch(`${dashboard!.url}${path}`, {
      method: route.method.toUpperCase(),
      headers: { ...AUTH, 'Content-Type': type },
      body,
    });
    const answer = (await res.json()) as { error?: string };
    expect([res.status, answer.error]).toEqual([status, expect.stringMatching(error)]);
    // An answer the contract does not list fails the file too (contract.expectConforming below).
    expect(Object.keys(route.responses)).toContain(String(status));
  });
});

describe('the routes check their path parameters as the contract describes them', () => {
  /** How each route's error names the parameter. */
  const NAMED: Record<string, string> = { id: 'campaign id', request_id: 'request_id' };
  const cases = ROUTE_DOCS.flatMap((route) =>
    Object.entries(route.path_params?.shape ?? {})
      // `a b`: outside every identifier's pattern; a parameter whose schema takes any text is looked up instead.
      .filter(([, schema]) => !(schema as z.ZodType).safeParse('a b').success)
      .map(([name]) => [`${route.method.toUpperCase()} ${route.path}`, name, route] as const),
  );

  it('has identifiers with a pattern to check', () => {
    expect(new Set(cases.map(([, name]) => name))).toEqual(new Set(Object.keys(NAMED)));
  });

  it.each(cases)('%s refuses a malformed %s', async (_name, param, route) => {
    const path = route.path.replace(
      /\{(\w+)\}/g,
      (_, name: string) => (name === param ? 'a%20b' : PARAMS[name]) as string,
    );
    const res = await fetch(`${dashboard!.url}${path}`, {
      method: route.method.toUpperCase(),
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      ...(route.method !== 'get' && { body: '{}' }),
    });
    const answer = (await res.json()) as { error?: string };
    expect([res.status, answer.error?.split(':')[0]]).toEqual([400, NAMED[param]]);
  });
});

describe('what the schemas accept, the routes take', () => {
  it('takes a dead-letter code as digits in a query and as a number or digits in a body', async () => {
    const api = (path: string, body?: unknown) =>
      fetch(`${dashboard!.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    expect((await api('/api/dead-letters?code=4001&limit=10000')).status).toBe(200);
    for (const code of [4001, '4001'])
      expect(await (await api('/api/dead-letters/replay', { code })).json()).toMatchObject({ count: 0 });
  });

  it('names the fields it does not know, in a body and in a query', async () => {
    const api = async (path: string, body?: unknown) => {
      const res = await fetch(`${dashboard!.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return [res.status, await res.json()];
    };
    expect(await api('/api/dead-letters/replay', { campain: 'x' })).toEqual([
      400,
      { error: 'body: unknown field "campain"' },
    ]);
    expect(await api('/api/webhooks', { url: 'https://example.com/hooks', evnets: 'x', batchh: 2 })).toEqual([
      400,
      { error: 'body: unknown fields "evnets", "batchh"' },
    ]);
    expect(await api('/api/dead-letters?campain=zz')).toEqual([400, { error: 'query: unknown field "campain"' }]);
    expect(await api('/api/campaigns/c1/export?stauts=dead')).toEqual([
      400,
      { error: 'query: unknown field "stauts"' },
    ]);
    expect(await api('/api/campaigns/v1/messages?prioirty=low', [])).toEqual([
      400,
      { error: 'query: unknown field "prioirty"' },
    ]);
  });

  it('refuses a missing or malformed key name in the key store’s words', async () => {
    const post = (body: unknown) =>
      fetch(`${dashboard!.url}/api/keys`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect(await (await post({ role: 'send' })).json()).toEqual({
      error: 'name: expected a name of 1 to 64 letters, digits, "_", "-" or "." (not "dashboard"), got ""',
    });
    expect(await (await post({ name: 'a b', role: 'send' })).json()).toEqual({
      error: 'name: expected a name of 1 to 64 letters, digits, "_", "-" or "." (not "dashboard"), got "a b"',
    });
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
