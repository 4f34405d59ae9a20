import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import type { ConfigInput } from '../../src/config.js';
import { WebhookDeliveries } from '../../src/events/deliveries.js';
import { FEED_GROUP, groupOf, WebhookEndpoints } from '../../src/events/endpoints.js';
import { ensureGroup, groupsOf } from '../../src/events/feed.js';
import { webhookDisabled } from '../../src/events/operational.js';
import { pauseSending } from '../../src/lanes/fleet.js';
import { createLogger } from '../../src/log.js';
import { WebhookDispatcher } from '../../workers/webhook-dispatcher.js';
import { silentLogger, testConfig, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { startReceiver, verify, type Received } from '../helpers/webhook-receiver.js';

const stack = useStack();

/** A dispatcher with a short retry schedule (started after `before`, when given), and the lines it logs. */
function start(overrides: ConfigInput = {}, before?: (h: Harness) => Promise<void>) {
  const config = testConfig({
    WEBHOOK_RETRY_SCHEDULE: '0,50,100',
    WEBHOOK_TIMEOUT_MS: 300,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ...overrides,
  });
  const h = stack.harness(config);
  const lines: string[] = [];
  const log = createLogger({
    level: 'info',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  const dispatcher = new WebhookDispatcher(h.redis, h.redis.duplicate(), h.keys, config, log, { retryPollMs: 20 });
  const started = (before ?? (async () => {}))(h).then(() => dispatcher.start());
  stack.defer(async () => {
    await started;
    await dispatcher.stop();
  });
  return {
    started,
    h,
    lines,
    endpoints: new WebhookEndpoints(h.redis, h.keys),
    deliveries: new WebhookDeliveries(h.redis, h.keys),
  };
}

async function receiver(answer: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(answer);
  stack.defer(() => r.close());
  return r;
}

describe('webhook delivery', () => {
  it('retries a failed delivery with the same webhook-id, signed anew each time, until it is answered 2xx', async () => {
    const r = await receiver((_request, count) => (count <= 2 ? 500 : 200));
    const { h, endpoints } = start();
    const endpoint = await endpoints.add({ url: r.url });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(() => r.received.length === 3);
    expect(new Set(r.received.map((request) => request.id)).size).toBe(1);
    for (const request of r.received)
      expect(verify(endpoint.secret, request)).toEqual({
        type: 'sending.paused',
        timestamp: expect.any(String),
        data: { lane: null, reason: 'quality', by: 'system' },
      });
    await until(async () => (await endpoints.get(endpoint.id))?.counts.delivered === 1);
    expect(await endpoints.get(endpoint.id)).toMatchObject({
      counts: { delivered: 1, failed: 2, exhausted: 0 },
      retrying: 0,
      disabled: null,
      failing_since: null,
    });
  });

  it('counts a request not answered within WEBHOOK_TIMEOUT_MS, and a redirect, as failures', async () => {
    const r = await receiver((_request, count) => (count === 1 ? 'hang' : count === 2 ? 302 : 204));
    const { h, endpoints } = start();
    const endpoint = await endpoints.add({ url: r.url });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(async () => (await endpoints.get(endpoint.id))?.counts.delivered === 1);
    expect(r.received).toHaveLength(3);
    expect(new Set(r.received.map((request) => request.id)).size).toBe(1);
    expect((await endpoints.get(endpoint.id))?.counts).toMatchObject({ failed: 2, delivered: 1 });
  });

  it('keeps a delivery whose attempts ran out, and replays it with its webhook-id', async () => {
    let up = false;
    const r = await receiver(() => (up ? 200 : 503));
    const { h, endpoints, deliveries } = start();
    const endpoint = await endpoints.add({ url: r.url });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(async () => (await deliveries.exhausted(endpoint.id)).length === 1);
    // The schedule's three attempts, then none.
    expect(r.received).toHaveLength(3);
    expect(await deliveries.exhausted(endpoint.id)).toEqual([
      expect.objectContaining({ id: r.received[0]?.id, attempts: 3, status: 503, error: 'HTTP 503' }),
    ]);
    up = true;
    expect(await deliveries.replay(endpoint.id)).toBe(1);
    await until(() => r.received.length === 4);
    expect(r.received[3]?.id).toBe(r.received[0]?.id);
    expect(verify(endpoint.secret, r.received[3] as Received)).toMatchObject({ type: 'sending.paused' });
    await until(async () => (await endpoints.get(endpoint.id))?.counts.delivered === 1);
    expect(await deliveries.exhausted(endpoint.id)).toEqual([]);
  });

  it('disables an endpoint that answers 410, and tells the other endpoints', async () => {
    const gone = await receiver(() => 410);
    const other = await receiver(() => 200);
    const { h, endpoints, lines } = start();
    const a = await endpoints.add({ url: gone.url });
    const b = await endpoints.add({ url: other.url, events: ['webhook.*'] });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(() => other.received.length === 1);
    const disabled = verify(b.secret, other.received[0] as Received);
    expect(disabled).toMatchObject({
      type: 'webhook.disabled',
      data: { endpoint: a.id, url: gone.url, reason: 'gone' },
    });
    expect(webhookDisabled.safeParse(disabled).success).toBe(true);
    expect(gone.received).toHaveLength(1);
    expect((await endpoints.get(a.id))?.disabled).toMatchObject({ reason: 'gone' });
    expect(lines.filter((line) => line.includes('410 Gone'))).toHaveLength(1);
    // Disabled: nothing more is sent to it.
    await pauseSending(h.redis, h.keys, 'again');
    await until(async () => (await endpoints.get(b.id))?.counts.delivered === 1);
    expect(gone.received).toHaveLength(1);
  });

  it('disables an endpoint whose every delivery failed for WEBHOOK_DISABLE_AFTER_MS, with a line', async () => {
    const down = await receiver(() => 500);
    const { h, endpoints, lines } = start({
      WEBHOOK_RETRY_SCHEDULE: '0,200,200,200,200,200,200,200,200,200',
      WEBHOOK_DISABLE_AFTER_MS: 1000,
    });
    const a = await endpoints.add({ url: down.url });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(async () => (await endpoints.get(a.id))?.disabled !== null, 10_000);
    expect((await endpoints.get(a.id))?.disabled).toMatchObject({ reason: 'failing' });
    const failingFor = (down.received.at(-1)?.at ?? 0) - (down.received[0]?.at ?? 0);
    expect(failingFor).toBeGreaterThanOrEqual(1000);
    expect(lines.filter((line) => line.includes('WEBHOOK_DISABLE_AFTER_MS'))).toHaveLength(1);
  });

  it('signs with both secrets while a rotated-out one overlaps, so that either verifies', async () => {
    const r = await receiver(() => 200);
    const { h, endpoints } = start();
    const endpoint = await endpoints.add({ url: r.url });
    const rotated = (await endpoints.rotateSecret(endpoint.id)) as string;
    expect(rotated).not.toBe(endpoint.secret);
    await pauseSending(h.redis, h.keys, 'quality');
    await until(() => r.received.length === 1);
    const request = r.received[0] as Received;
    expect(request.signature.split(' ')).toHaveLength(2);
    expect(verify(rotated, request)).toMatchObject({ type: 'sending.paused' });
    expect(verify(endpoint.secret, request)).toMatchObject({ type: 'sending.paused' });
  });

  it('refuses a private address unless WEBHOOK_ALLOW_PRIVATE', async () => {
    const r = await receiver(() => 200);
    const { h, endpoints } = start({ WEBHOOK_ALLOW_PRIVATE: 'false', WEBHOOK_RETRY_SCHEDULE: '0' });
    const endpoint = await endpoints.add({ url: r.url });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(async () => (await endpoints.get(endpoint.id))?.counts.exhausted === 1);
    expect(r.received).toHaveLength(0);
    expect((await endpoints.get(endpoint.id))?.last?.error).toMatch(/127\.0\.0\.1 is a private or reserved address/);
  });

  it("waits out a receiver's Retry-After when it answers 429, rather than the schedule's shorter delay", async () => {
    const r = await receiver((_request, count) =>
      count === 1 ? { status: 429, headers: { 'retry-after': '1' } } : 200,
    );
    const { h, endpoints } = start();
    const endpoint = await endpoints.add({ url: r.url });
    await pauseSending(h.redis, h.keys, 'quality');
    await until(async () => (await endpoints.get(endpoint.id))?.counts.delivered === 1);
    expect(r.received).toHaveLength(2);
    expect((r.received[1]?.at ?? 0) - (r.received[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);
  });

  it('delivers to a fast endpoint while a slow one holds its requests, and the slow one gets every event after', async () => {
    // The slow receiver answers nothing until released (well within WEBHOOK_TIMEOUT_MS: it is slow, not failing).
    let release: () => void = () => {};
    const released = new Promise<number>((resolve) => (release = () => resolve(204)));
    let releasedAt = Infinity;
    const slow = await receiver(() => released);
    const fast = await receiver(() => 204);
    const { h, endpoints } = start({ WEBHOOK_TIMEOUT_MS: 60_000 });
    const a = await endpoints.add({ url: slow.url });
    const b = await endpoints.add({ url: fast.url, events: ['sending.paused'] });
    await pauseSending(h.redis, h.keys, 'first');
    await until(() => slow.received.length === 1 && fast.received.length === 1);
    // Read after the first: the fast endpoint is not held up by the slow one's unanswered request.
    for (const reason of ['second', 'third']) await pauseSending(h.redis, h.keys, reason);
    try {
      await until(() => fast.received.length === 3, 10_000);
    } finally {
      releasedAt = Date.now();
      release();
    }
    expect(fast.received.every((request) => request.at < releasedAt)).toBe(true);
    expect(slow.received).toHaveLength(1);
    await until(() => slow.received.length === 3);
    await until(async () => (await endpoints.get(a.id))?.counts.delivered === 3);
    const reasons = (secret: string, requests: Received[]) =>
      requests.map((request) => (verify(secret, request) as { data: { reason: string } }).data.reason).sort();
    expect(reasons(a.secret, slow.received)).toEqual(['first', 'second', 'third']);
    expect(reasons(b.secret, fast.received)).toEqual(['first', 'second', 'third']);
    expect(await endpoints.get(b.id)).toMatchObject({ counts: { delivered: 3, failed: 0 }, retrying: 0 });
  });

  it('goes on from where the one group of earlier versions was: nothing it had not acknowledged is skipped', async () => {
    const r = await receiver(() => 204);
    let id = '';
    const { h, endpoints, started } = start({}, async (k) => {
      const endpoints = new WebhookEndpoints(k.redis, k.keys);
      ({ id } = await endpoints.add({ url: r.url }));
      // The feed as an earlier version left it: read through `webhooks`, one entry acknowledged, one read only.
      await k.redis.xgroup('DESTROY', k.keys.archive, groupOf(id));
      await ensureGroup(k.redis, k.keys.archive, FEED_GROUP);
      const readOne = () => k.redis.xreadgroup('GROUP', FEED_GROUP, 'old', 'COUNT', 1, 'STREAMS', k.keys.archive, '>');
      await pauseSending(k.redis, k.keys, 'acknowledged');
      const [[, [[acked]]]] = (await readOne()) as unknown as [[string, [[string]]]];
      await k.redis.xack(k.keys.archive, FEED_GROUP, acked);
      await pauseSending(k.redis, k.keys, 'read, not acknowledged');
      await readOne();
      await pauseSending(k.redis, k.keys, 'not read');
    });
    await started;
    await until(() => r.received.length === 2);
    await until(async () => (await endpoints.get(id))?.counts.delivered === 2);
    const reasons = r.received.map((request) => (JSON.parse(request.body) as { data: { reason: string } }).data.reason);
    expect(reasons.sort()).toEqual(['not read', 'read, not acknowledged']);
    expect((await groupsOf(h.redis, h.keys.archive)).map((g) => g.name)).toEqual([groupOf(id)]);
  });

  it('after a dispatcher dies, one started again delivers to each endpoint what it had not acknowledged, and no more', async () => {
    let release: () => void = () => {};
    const released = new Promise<number>((resolve) => (release = () => resolve(204)));
    const slow = await receiver((_request, count) => (count === 1 ? released : 204));
    const fast = await receiver(() => 204);
    const config = testConfig({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT_MS: 60_000 });
    const h = stack.harness(config);
    const endpoints = new WebhookEndpoints(h.redis, h.keys);
    const a = await endpoints.add({ url: slow.url });
    const b = await endpoints.add({ url: fast.url });
    const connection = h.redis.duplicate();
    const first = new WebhookDispatcher(connection, h.redis.duplicate(), h.keys, config, silentLogger());
    first.start();
    await pauseSending(h.redis, h.keys, 'first');
    await until(() => slow.received.length === 1);
    for (const reason of ['second', 'third']) await pauseSending(h.redis, h.keys, reason);
    // The fast endpoint has had and acknowledged all three; the slow one has the first in flight.
    await until(
      async () =>
        fast.received.length === 3 && Number((await h.redis.xpending(h.keys.archive, groupOf(b.id)))[0]) === 0,
    );
    // It dies: nothing more reaches Redis from it, the answer to its request in flight included.
    connection.disconnect();
    const stopped = first.stop();
    release();
    await stopped;
    const second = new WebhookDispatcher(h.redis, h.redis.duplicate(), h.keys, config, silentLogger());
    second.start();
    stack.defer(() => second.stop());
    await until(async () => (await endpoints.get(a.id))?.counts.delivered === 3);
    const reasons = (requests: Received[]) =>
      requests.map((request) => (JSON.parse(request.body) as { data: { reason: string } }).data.reason).sort();
    // The slow one: the first again (same webhook-id), then what it had not read.
    expect(reasons(slow.received)).toEqual(['first', 'first', 'second', 'third']);
    expect(slow.received[1]?.id).toBe(slow.received[0]?.id);
    // The fast one: nothing twice.
    expect(reasons(fast.received)).toEqual(['first', 'second', 'third']);
    expect(await endpoints.get(b.id)).toMatchObject({ counts: { delivered: 3 } });
  });
});
