import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { AxiosInstance } from 'axios';
import { EngageLabClient, type SendPayload } from '../../src/engagelab/client.js';
import { sendableJson, withRequestIdArg } from '../../src/engagelab/request-id-arg.js';
import {
  CODE_KINDS,
  EngageLabError,
  POLICY,
  classify,
  decide,
  parseRetryAfter,
  type ErrorKind,
} from '../../src/engagelab/errors.js';
import { freePort } from '../../src/dev/redis-server.js';
import { scriptedServer, type Reply, type ScriptedServer } from '../helpers/scripted-server.js';

const payload: SendPayload = {
  to: ['447911123456'],
  body: { type: 'text', text: { body: 'hello' } },
  request_id: 'r-1',
};

let server: ScriptedServer | undefined;
let client: EngageLabClient | undefined;
// Every client test runs over both transports: the undici adapter must behave as axios's own.
let transport: 'undici' | 'node' = 'undici';
afterEach(async () => {
  client?.close();
  await server?.close();
  server = undefined;
  client = undefined;
});

function makeClient(url: string, overrides: Partial<ConstructorParameters<typeof EngageLabClient>[0]> = {}) {
  client = new EngageLabClient({
    baseUrl: url,
    key: 'dev_key',
    secret: 'dev_secret',
    // Long enough that a loopback answer never times out on a busy machine; the hang test sets its own.
    timeoutMs: 5000,
    retries: 2,
    minRetryMs: 5,
    maxRetryMs: 20,
    transport,
    ...overrides,
  });
  return client;
}

async function failure(replies: Reply[], overrides = {}): Promise<{ error: EngageLabError; calls: number }> {
  server = await scriptedServer(replies);
  const error = await makeClient(server.url, overrides)
    .send(payload)
    .then(
      () => {
        throw new Error('expected the send to fail');
      },
      (e: unknown) => e,
    );
  if (!EngageLabError.is(error)) throw error;
  return { error, calls: server.calls.length };
}

const ok = { status: 200, body: { message_id: 'm-1', request_id: 'r-1' } };

describe('the error table', () => {
  const rows: Array<[number | undefined, number | undefined, ErrorKind]> = [
    [500, 1000, 'transient'],
    [502, undefined, 'transient'],
    [503, undefined, 'transient'],
    [401, 2001, 'auth'],
    [401, 2002, 'auth'],
    [400, 2003, 'auth'],
    [403, 2004, 'auth'],
    [400, 3001, 'permanent'],
    [400, 3002, 'permanent'],
    [400, 3003, 'permanent'],
    [400, 4001, 'permanent'],
    [500, 5002, 'permanent'],
    [404, undefined, 'permanent'],
    [413, undefined, 'permanent'],
    [429, undefined, 'rate_limited'],
    [429, 1000, 'rate_limited'],
    [undefined, undefined, 'transient'],
  ];
  it.each(rows)('HTTP %s with code %s is %s', (status, code, kind) => {
    expect(classify(status, code)).toBe(kind);
  });

  it('gives every kind a decision and every listed code a kind', () => {
    const kinds = Object.keys(POLICY) as ErrorKind[];
    const decisions = (ambiguous: 'dead-letter' | 'resend') =>
      Object.fromEntries(kinds.map((kind) => [kind, decide(new EngageLabError({ kind, message: kind }), ambiguous)]));
    expect(decisions('dead-letter')).toEqual({
      transient: 'retry_later',
      permanent: 'dead_letter',
      auth: 'pause',
      rate_limited: 'hold',
      unknown_outcome: 'dead_letter',
    });
    expect(decisions('resend')).toMatchObject({ unknown_outcome: 'retry_later', permanent: 'dead_letter' });
    // Only transient failures are retried in process, and only they and unknown outcomes count as EngageLab failing.
    expect(kinds.filter((kind) => POLICY[kind].retryInProcess)).toEqual(['transient']);
    expect(kinds.filter((kind) => POLICY[kind].outage)).toEqual(['transient', 'unknown_outcome']);
    // A request that may have been accepted keeps its in-flight mark.
    expect(kinds.filter((kind) => !POLICY[kind].notSent)).toEqual(['unknown_outcome']);
    expect(Object.keys(CODE_KINDS).map(Number).sort()).toEqual([
      1000, 2001, 2002, 2003, 2004, 3001, 3002, 3003, 4001, 5002,
    ]);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('recognises the error by name as well as by class', () => {
    const lookalike = Object.assign(new Error('x'), { name: 'EngageLabError', kind: 'auth' });
    expect(EngageLabError.is(lookalike)).toBe(true);
    expect(EngageLabError.is(new Error('x'))).toBe(false);
  });
});

describe('what a worker sends for a payload', () => {
  const cases: Array<[string, SendPayload, string | undefined]> = [
    ['no from, no default', payload, undefined],
    ['the default from', payload, '15550001111'],
    ['its own from over the default', { ...payload, from: '15552223333' }, '15550001111'],
    ['its own custom_args', { ...payload, custom_args: { order: 7, segment: 'new' } }, '15550001111'],
    ['its own custom_args, no default', { ...payload, custom_args: { order: 7 } }, undefined],
    ['empty custom_args', { ...payload, custom_args: {} }, '15550001111'],
    ['custom_args naming the request_id already', { ...payload, custom_args: { wa_bulk_request_id: 'x' } }, undefined],
    ['custom_args before other keys', { custom_args: { a: 1 }, ...payload }, '15550001111'],
    ['custom_args left undefined', { ...payload, custom_args: undefined }, undefined],
    [
      'custom_args not last, and a last key whose text ends as custom_args would',
      {
        to: ['447911123456'],
        custom_args: { a: 1 },
        body: { type: 'text', text: { body: 'x' }, custom_args: { a: 1 } },
      } as unknown as SendPayload,
      undefined,
    ],
    ['custom_args undefined, not last', { custom_args: undefined, ...payload }, '15550001111'],
    ['a from key left undefined', { ...payload, from: undefined }, '15550001111'],
    ['text needing escapes', { ...payload, body: { type: 'text', text: { body: 'a "b"\n\u2028é' } } }, undefined],
  ];
  it.each(cases)('%s: the same text as serialising the payload sent', (_name, own, defaultFrom) => {
    const json = sendableJson(own, JSON.stringify(own), 'r-9', defaultFrom);
    const expected = withRequestIdArg(
      own.from === undefined && defaultFrom ? { ...own, from: defaultFrom } : own,
      'r-9',
    );
    expect(json).toBe(JSON.stringify(expected));
    expect((JSON.parse(json) as SendPayload).custom_args?.wa_bulk_request_id).toBe('r-9');
  });
});

describe.each(['undici', 'node'] as const)('EngageLabClient over %s', (over) => {
  beforeEach(() => {
    transport = over;
  });

  it('posts the payload with Basic auth built from key and secret', async () => {
    server = await scriptedServer([ok]);
    const result = await makeClient(server.url).send(payload);
    expect(result).toEqual({ messageId: 'm-1', requestId: 'r-1', attempts: 1 });
    const call = server.calls[0];
    expect(call?.method).toBe('POST');
    expect(call?.url).toBe('/v1/messages');
    expect(call?.authorization).toBe(`Basic ${Buffer.from('dev_key:dev_secret').toString('base64')}`);
    expect(call?.contentType).toBe('application/json');
    expect(JSON.parse(call?.body ?? '')).toEqual(payload);
  });

  it('sends the JSON it is given as it is, the same text for every retry', async () => {
    server = await scriptedServer([{ status: 500, body: { code: 1000 } }, ok]);
    const json = '{"to":["447911123456"],"body":{"type":"text","text":{"body":"h\\u00e9llo"}},"request_id":"r-1"}';
    const result = await makeClient(server.url).send(payload, undefined, json);
    expect(result).toEqual({ messageId: 'm-1', requestId: 'r-1', attempts: 2 });
    expect(server.calls.map((c) => c.body)).toEqual([json, json]);
  });

  it('reports a 200 whose body is not JSON as unknown_outcome', async () => {
    const { error, calls } = await failure([{ status: 200, raw: '<html>ok</html>' }]);
    expect(error.kind).toBe('unknown_outcome');
    expect(error.httpStatus).toBe(200);
    expect(calls).toBe(1);
  });

  it('goes through the proxy HTTP_PROXY names for the API, and straight to the API when NO_PROXY lists it', async () => {
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    const proxy = await scriptedServer([ok]);
    const api = (server = await scriptedServer([ok]));
    try {
      process.env.HTTP_PROXY = proxy.url;
      delete process.env.NO_PROXY;
      // A name that never resolves: only the proxy can answer.
      const proxied = makeClient('http://api.engagelab.invalid');
      expect(proxied.transport).toBe('node');
      expect((await proxied.send(payload)).messageId).toBe('m-1');
      expect(proxy.calls.map((c) => c.url)).toEqual(['http://api.engagelab.invalid/v1/messages']);
      proxied.close();

      process.env.NO_PROXY = '127.0.0.1';
      const direct = makeClient(api.url);
      expect(direct.transport).toBe(over);
      expect((await direct.send(payload)).messageId).toBe('m-1');
      expect(api.calls.map((c) => c.url)).toEqual(['/v1/messages']);
      expect(proxy.calls).toHaveLength(1);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await proxy.close();
    }
  });

  it('retries code 1000 with p-retry and succeeds', async () => {
    server = await scriptedServer([
      { status: 500, body: { code: 1000, message: 'internal error' } },
      { status: 500, body: { code: 1000 } },
      ok,
    ]);
    const result = await makeClient(server.url).send(payload);
    expect(result.attempts).toBe(3);
    expect(server.calls).toHaveLength(3);
  });

  it('retries a 5xx with an HTML body until its retries are spent', async () => {
    const { error, calls } = await failure([{ status: 502, raw: '<html><body>Bad Gateway</body></html>' }]);
    expect(error.kind).toBe('transient');
    expect(error.httpStatus).toBe(502);
    expect(calls).toBe(3);
  });

  it('waits between retries within the RETRY_* bounds', async () => {
    const { calls } = await failure([{ status: 503 }], { minRetryMs: 40, maxRetryMs: 60, retries: 2 });
    expect(calls).toBe(3);
    const at = server?.calls.map((c) => c.at) ?? [];
    for (let i = 1; i < at.length; i++) {
      const gap = (at[i] ?? 0) - (at[i - 1] ?? 0);
      expect(gap).toBeGreaterThanOrEqual(35);
    }
  });

  it('retries a refused connection, counting each attempt', async () => {
    const port = await freePort();
    let attempts = 0;
    const error = await makeClient(`http://127.0.0.1:${port}`, {
      hooks: { beforeAttempt: async () => void attempts++ },
    })
      .send(payload)
      .then(
        () => undefined,
        (e: unknown) => e as EngageLabError,
      );
    expect(error?.kind).toBe('transient');
    expect(attempts).toBe(3);
  });

  it.each([3001, 3002, 3003, 4001])('dead-letters a %s without retrying', async (code) => {
    const { error, calls } = await failure([{ status: 400, body: { code, message: `problem ${code}` } }]);
    expect(error.kind).toBe('permanent');
    expect(decide(error, 'dead-letter')).toBe('dead_letter');
    expect(error.code).toBe(code);
    expect(error.message).toBe(`problem ${code}`);
    expect(calls).toBe(1);
  });

  it('does not retry 5002 or another 4xx', async () => {
    expect((await failure([{ status: 500, body: { code: 5002, message: 'meta' } }])).calls).toBe(1);
    await server?.close();
    const other = await failure([{ status: 404, raw: 'not found' }]);
    expect(other.error.kind).toBe('permanent');
    expect(other.calls).toBe(1);
  });

  it.each([
    [2001, 401],
    [2002, 401],
    [2003, 400],
    [2004, 403],
  ])('reports code %s as auth without retrying', async (code, status) => {
    const { error, calls } = await failure([{ status, body: { code, message: 'auth' } }]);
    expect(error.kind).toBe('auth');
    expect(decide(error, 'dead-letter')).toBe('pause');
    expect(calls).toBe(1);
  });

  it('reports a 429 with its Retry-After in seconds', async () => {
    const { error, calls } = await failure([{ status: 429, headers: { 'Retry-After': '2' } }]);
    expect(error.kind).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(2000);
    expect(calls).toBe(1);
  });

  it('reports a 429 with its Retry-After as a date', async () => {
    const when = new Date(Date.now() + 5000).toUTCString();
    const { error } = await failure([{ status: 429, headers: { 'Retry-After': when } }]);
    expect(error.retryAfterMs).toBeGreaterThan(3000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(5000);
  });

  it('reports a timeout after the request was written as unknown_outcome, never resending it', async () => {
    const { error, calls } = await failure([{ hang: true }], { timeoutMs: 300 });
    expect(error.kind).toBe('unknown_outcome');
    expect(decide(error, 'dead-letter')).toBe('dead_letter');
    expect(decide(error, 'resend')).toBe('retry_later');
    expect(calls).toBe(1);
  });

  it('times out a request still waiting for a socket as not sent, and never sends it later', async () => {
    server = await scriptedServer([{ hang: true }, ok]);
    const c = makeClient(server.url, { maxSockets: 1, timeoutMs: 300, retries: 0 });
    // The only socket is held by a request with a longer timeout of its own (2 s), so the queued one's
    // 300 ms certainly run out while it waits, however busy the machine.
    const holder = (c as unknown as { http: AxiosInstance }).http
      .post('/v1/messages', JSON.stringify(payload), { timeout: 2000 })
      .catch(() => undefined);
    while (server.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const queued = await c.send({ ...payload, request_id: 'r-2' }).then(
      () => undefined,
      (e: unknown) => e as EngageLabError,
    );
    expect(queued?.kind).toBe('transient');
    expect(queued?.message).toMatch(/timed out before it reached EngageLab/);
    // The holder's socket frees at 2 s: the abandoned request must not be sent on it, nor on a new one.
    await holder;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.calls.map((call) => JSON.parse(call.body).request_id)).toEqual(['r-1']);
  });

  it('keeps its connections alive: twenty requests one after another reuse their sockets', async () => {
    server = await scriptedServer([ok]);
    const c = makeClient(server.url);
    for (let i = 1; i <= 20; i++) await c.send({ ...payload, request_id: `k-${i}` });
    expect(server.calls).toHaveLength(20);
    // Without keep-alive each request is a connection of its own. undici's pool answers a request before
    // it marks that connection free, so the next one may open a second, which both then reuse.
    expect(server.connections).toBeLessThanOrEqual(2);
  });

  it('sends the Template Management query and reads its answer', async () => {
    server = await scriptedServer([
      { status: 200, body: [{ name: 'order_update', language: 'en_US', status: 'APPROVED' }] },
    ]);
    const found = await makeClient(server.url).listTemplates({ name: 'order update', language_code: 'en_US' });
    expect(found.map((t) => t.status)).toEqual(['APPROVED']);
    expect(server.calls[0]?.method).toBe('GET');
    expect(server.calls[0]?.url).toBe('/v1/templates?name=order+update&language_code=en_US');
  });

  it('reports a connection lost after the request was written as unknown_outcome', async () => {
    const { error, calls } = await failure([{ reset: true }]);
    expect(error.kind).toBe('unknown_outcome');
    expect(calls).toBe(1);
  });

  it('reports a 200 without message_id as unknown_outcome', async () => {
    const { error, calls } = await failure([{ status: 200, body: { ok: true } }]);
    expect(error.kind).toBe('unknown_outcome');
    expect(calls).toBe(1);
  });

  it('tells afterAttempt about every request', async () => {
    server = await scriptedServer([{ status: 500, body: { code: 1000 } }, ok]);
    const reports: boolean[] = [];
    await makeClient(server.url, { hooks: { afterAttempt: (r) => void reports.push(r.ok) } }).send(payload);
    expect(reports).toEqual([false, true]);
  });
});
