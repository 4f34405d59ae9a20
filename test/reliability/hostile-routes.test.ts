import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import fc from 'fast-check';
import { BODIES, phone } from '../fixtures/messages.js';
import { useFileStack } from '../helpers/stack.js';
import { contract, startDashboard } from '../helpers/contract.js';

/**
 * Generated hostile requests against every route of the dashboard: whatever arrives, the answer is never a 5xx,
 * the process stays up, and a well-formed request works afterwards. The runs are bounded (count and time).
 */

const PASSWORD = 'hostile-routes-password';
const TOKEN = 'tok_hostile_0123456789';
const stack = useFileStack();
beforeAll(async () => {
  await stack.start({
    config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD, CALLBACK_TOKEN: TOKEN },
    dashboard: startDashboard,
  });
});

const AUTH = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
const ROUTES: Array<[string, string]> = [
  ['GET', '/api/campaigns'],
  ['GET', '/api/campaigns/ID'],
  ['GET', '/api/messages/ID'],
  ['POST', '/api/messages/ID/remove'],
  ['GET', '/api/dead-letters'],
  ['POST', '/api/dead-letters/replay'],
  ['POST', '/api/dead-letters/purge'],
  ['POST', '/api/campaigns/ID/messages'],
  ['POST', '/api/campaigns/ID/pause'],
  ['POST', '/api/campaigns/ID/resume'],
  ['POST', '/api/campaigns/ID/cancel'],
  ['GET', '/api/followups'],
  ['POST', '/api/followups'],
  ['GET', '/api/followups/ID'],
  ['POST', '/api/followups/ID/cancel'],
  ['GET', '/api/campaigns/ID/export'],
  ['GET', '/api/campaigns/ID/rejects'],
  ['GET', '/api/campaigns/ID/dead-letters'],
  ['GET', '/api/campaigns/spring/rejects?format=ID'],
  ['GET', '/api/suppressions'],
  ['POST', '/api/suppressions'],
  ['DELETE', '/api/suppressions'],
  ['GET', '/api/health'],
  ['GET', '/metrics'],
  ['GET', '/campaigns'],
  ['GET', '/queues/api/queues'],
  ['POST', '/queues/api/queues/send/add'],
  ['PUT', '/queues/api/queues/dead/clean/failed'],
  ['POST', `/callbacks/engagelab/${TOKEN}`],
];

/** JSON text nested `depth` levels deep, as a parser's recursion limit would meet it (written, not stringified). */
const nested = (depth: number): string => '{"a":['.repeat(depth) + '"x"' + ']}'.repeat(depth);

const segment = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.constantFrom('..', '%2e%2e', '*', 'a:b', '%00', '%', 'x'.repeat(300), 'spring', '../victim', '\u202e'),
);
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)),
  fc
    .integer({ min: 50, max: 5000 })
    .map((depth) => `[{"to":"${phone(1)}","body":${JSON.stringify(BODIES.text)},"custom_args":${nested(depth)}}]`),
  fc.integer({ min: 50, max: 5000 }).map((depth) => `{"rows":[${nested(depth)}]}`),
  fc.constantFrom(
    '{"rows":[{"message_id":"m","itime":1e20,"status":{"message_status":"read"}}]}',
    '{"numbers":[null]}',
    '[',
    '\u0000',
  ),
  fc.string({ maxLength: 200 }),
);
const header = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('null', 'http://', '://x', 'http://evil.test'),
);
const contentType = fc.constantFrom(
  'application/json',
  'application/x-ndjson',
  'text/plain',
  'application/json; charset=utf-16',
  '',
  'multipart/form-data; boundary=x',
);

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.dashboard.url}${path}`, { method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : body);
  });
}

describe('hostile requests, generated', () => {
  it('get a 4xx (or a 2xx for what is harmless), never a 5xx, on every route; the dashboard then still works', async () => {
    const answers: number[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        segment,
        jsonBody,
        header,
        contentType,
        fc.boolean(),
        async ([method, template], id, body, origin, type, authed) => {
          const path = template.replace('ID', encodeURIComponent(id));
          const headers: Record<string, string> = { 'Content-Type': type };
          if (authed) headers.Authorization = AUTH;
          if (origin !== undefined && /^[\x20-\x7e]*$/.test(origin)) headers.Origin = origin;
          const status = await send(method, path, headers, body);
          answers.push(status);
          expect([method, path, status < 500]).toEqual([method, path, true]);
        },
      ),
      { numRuns: 400, interruptAfterTimeLimit: 60_000, seed: 20261207 },
    );
    expect(answers.length).toBeGreaterThan(100);
    expect((await fetch(`${stack.dashboard.url}/healthz`)).status).toBe(200);
    const ok = await fetch(`${stack.dashboard.url}/api/campaigns/after/messages?preflight=false`, {
      method: 'POST',
      headers: { Authorization: AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify([{ to: phone(1), body: BODIES.text }]),
    });
    expect(await ok.json()).toMatchObject({ accepted: 1 });
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
