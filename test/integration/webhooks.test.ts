import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { WebhookEndpoints } from '../../src/events/endpoints.js';
import { groupsOf } from '../../src/events/feed.js';
import { batchSchema } from '../../src/events/operational.js';
import { EVENT_SCHEMAS, type EventType } from '../../src/events/schema.js';
import { newSecret } from '../../src/events/signing.js';
import { pauseSending, resumeSending } from '../../src/lanes/fleet.js';
import { WebhookDispatcher } from '../../workers/webhook-dispatcher.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';
import { startReceiver, verify } from '../helpers/webhook-receiver.js';
import { campaignDone, collect, envOf, silentLogger, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

const TOKEN = 'cb_token_0123456789abcdef';
const stack = useStack();

/** A webhook receiver, closed after the test. */
async function receiving(...args: Parameters<typeof startReceiver>) {
  const receiver = await startReceiver(...args);
  stack.defer(() => receiver.close());
  return receiver;
}

type Body = { type: string; timestamp: string; data: Record<string, unknown> };

/** What an event is about: the message's request_id, the campaign's id, the user, or nothing. */
const subjectOf = (body: Body): string =>
  String(body.data.request_id ?? (body.type.startsWith('campaign.') ? body.data.id : (body.data.number ?? '')));

/** Resolves once the dispatcher has read and acknowledged everything in the feed. */
async function feedDrained(k: Harness): Promise<void> {
  await until(async () => {
    const group = (await groupsOf(k.redis, k.keys.archive)).find((g) => g.name === 'webhooks:env');
    if (group === undefined || group.pending > 0) return false;
    return (await k.redis.xrange(k.keys.archive, `(${group.lastDelivered}`, '+', 'COUNT', 1)).length === 0;
  }, 30_000);
}

describe('webhooks', () => {
  it('deliver exactly the expected events of a campaign, each signed as Standard Webhooks v1', async () => {
    const receiver = await receiving();
    const secret = newSecret();
    const { sim, h } = await stack.start({
      simulator: (dashboardUrl) => ({
        callbackUrl: `${dashboardUrl}/callbacks/engagelab/${TOKEN}`,
        callbackDelayMs: 30,
        deliveryFailRate: 0.3,
        readRate: 0.5,
        replyRate: 1,
        shuffleRate: 0,
        templates: ['order_update', 'login_code'],
      }),
      config: {
        CALLBACK_TOKEN: TOKEN,
        DASHBOARD_PASSWORD: 'password-for-webhooks',
        SESSION_CHECK: 'enforce',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_PRIVATE: 'true',
      },
      dashboard: true,
    });
    // The dispatcher has made its group: from now on the ledger writes the feed.
    await until(async () => (await groupsOf(h.redis, h.keys.archive)).some((g) => g.name === 'webhooks:env'));
    const unknownTemplate = {
      ...BODIES.template,
      template: { ...(BODIES.template?.template as object), name: 'gone' },
    };
    const messages = [
      ...Array.from({ length: 8 }, (_, i) => ({
        to: phone(i),
        body: BODIES.template,
        request_id: `t-${i}`,
        custom_args: { order: `o-${i}` },
      })),
      { to: phone(8), body: unknownTemplate, request_id: 'dead-0' },
      { to: phone(10), body: BODIES.text, request_id: 'skip-0' },
      { to: phone(11), body: BODIES.text, request_id: 'skip-1' },
    ];
    await enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign: 'wh', ledger: h.ledger, queue: h.send });
    await stack.startWorker();
    await campaignDone(h.ledger, 'wh');
    await until(async () => sim.pendingCallbacks === 0);
    expect(await sim.inbound([phone(20).slice(1)], undefined, 'STOP')).toBe(200);
    await pauseSending(h.redis, h.keys, 'insufficient balance');
    await resumeSending(h.redis, h.keys);

    // What the ledger and the simulator say happened.
    const expected: string[] = ['campaign.started wh', 'campaign.done wh', 'sending.paused ', 'sending.resumed '];
    expected.push(`contact.opted_out ${phone(20).slice(1)}`);
    const records = await collect(h.ledger.export('wh'));
    for (const r of records) {
      if (r.status !== 'sent') {
        expected.push(`message.${r.status} ${r.request_id}`);
        continue;
      }
      expected.push(`message.sent ${r.request_id}`);
      const final = sim.finalDelivery.get(r.message_id ?? '');
      if (final === 'failed') expected.push(`message.failed ${r.request_id}`);
      if (final === 'delivered' || final === 'read')
        expected.push(`message.delivered ${r.request_id}`, `message.replied ${r.request_id}`);
      if (final === 'read') expected.push(`message.read ${r.request_id}`);
    }
    expect(records.filter((r) => r.status === 'dead')).toHaveLength(1);
    expect(records.filter((r) => r.status === 'skipped')).toHaveLength(2);
    expect(expected.filter((e) => e.startsWith('message.failed')).length).toBeGreaterThan(0);
    expect(expected.filter((e) => e.startsWith('message.read')).length).toBeGreaterThan(0);

    await until(async () => (await h.ledger.campaign('wh'))?.state === 'done');
    await until(() => receiver.received.length >= expected.length, 30_000);
    await feedDrained(h);
    // Every request verifies with the standardwebhooks package, and is the body it carries.
    const bodies = receiver.received.map((request) => {
      const payload = verify(secret, request) as Body;
      expect(payload).toEqual(JSON.parse(request.body));
      return payload;
    });
    expect(bodies.map((b) => `${b.type} ${subjectOf(b)}`).sort()).toEqual(expected.sort());
    // Nothing failed, so nothing was sent twice: every webhook-id is its own.
    expect(new Set(receiver.received.map((r) => r.id)).size).toBe(receiver.received.length);

    // A message event's data is its record at that change.
    for (const body of bodies) {
      if (body.type === 'message.sent')
        expect(body.data).toMatchObject({
          status: 'sent',
          campaign: 'wh',
          custom_args: { order: `o-${String(body.data.request_id).slice(2)}` },
        });
      if (body.type === 'message.dead') expect(body.data).toMatchObject({ error: { code: 4001 } });
      if (body.type === 'message.skipped') expect(body.data).toMatchObject({ error: { reason: 'no_session' } });
      if (body.type === 'message.read') expect(body.data).toMatchObject({ delivery: { status: 'read' } });
      if (body.type === 'message.failed') expect(body.data).toMatchObject({ delivery: { error_code: 131026 } });
      if (body.type === 'message.replied')
        expect(body.data).toMatchObject({ campaign: 'wh', reply: { text: 'ok', type: 'text' } });
      if (body.type === 'contact.opted_out')
        expect(body.data).toEqual({
          number: phone(20).slice(1),
          user_id: null,
          source: 'keyword',
          keyword: 'STOP',
          by: 'system:callbacks',
        });
      if (body.type === 'campaign.done') expect(body.data).toMatchObject({ id: 'wh', total: 11, dead: 1, skipped: 2 });
      if (body.type === 'sending.paused')
        expect(body.data).toEqual({ lane: null, reason: 'insufficient balance', by: 'system' });
      // One event type, one schema: each body is what the published schema of its type describes.
      const schema = EVENT_SCHEMAS[body.type as EventType];
      const checked = schema.safeParse(body);
      expect([body.type, checked.success ? 'conforms' : checked.error.message]).toEqual([body.type, 'conforms']);
    }
  }, 120_000);

  it('batch up to N events a request for an endpoint that asks, each event with its own id', async () => {
    const receiver = await receiving();
    const { config, h } = await stack.start({ config: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BATCH_LINGER_MS: 50 } });
    const endpoint = await new WebhookEndpoints(h.redis, h.keys).add({ url: receiver.url, batch: 5 });
    const dispatcher = new WebhookDispatcher(h.redis, h.redis.duplicate(), h.keys, config, silentLogger());
    dispatcher.start();
    try {
      for (let i = 0; i < 12; i++) await pauseSending(h.redis, h.keys, `reason ${i}`);
      await until(
        () => receiver.received.reduce((n, r) => n + (JSON.parse(r.body) as { data: unknown[] }).data.length, 0) === 12,
      );
    } finally {
      await dispatcher.stop();
    }
    const batches = receiver.received.map(
      (request) =>
        verify(endpoint.secret, request) as {
          type: string;
          data: Array<{ id: string; type: string; data: { reason: string } }>;
        },
    );
    for (const batch of batches) {
      expect(batch.type).toBe('batch');
      // As the published contract's batch envelope describes it.
      const checked = batchSchema.safeParse(batch);
      expect(checked.success ? 'conforms' : checked.error.message).toBe('conforms');
      expect(batch.data.length).toBeLessThanOrEqual(5);
    }
    const events = batches.flatMap((b) => b.data);
    expect(events.map((e) => e.data.reason).sort()).toEqual(Array.from({ length: 12 }, (_, i) => `reason ${i}`).sort());
    expect(new Set(events.map((e) => e.id)).size).toBe(12);
    expect(events.every((e) => e.type === 'sending.paused' && /^msg_\d+-\d+$/.test(e.id))).toBe(true);
    // Fewer requests than events: they were batched.
    expect(receiver.received.length).toBeLessThan(12);
  });

  it('lose no event when the dashboard is killed mid-campaign: what it delivered again carries the same webhook-id', async () => {
    // The 20th request is never answered: the dashboard is killed with it in flight, unacknowledged.
    const receiver = await receiving((_request, count) => (count === 20 ? 'hang' : 200));
    const secret = newSecret();
    // The dashboard runs as a process of its own (started below), at the port the simulator posts to.
    const { sim, config, h } = await stack.start({
      simulator: (dashboardUrl) => ({
        callbackUrl: `${dashboardUrl}/callbacks/engagelab/${TOKEN}`,
        callbackDelayMs: 20,
        readRate: 0.5,
        shuffleRate: 0,
      }),
      config: {
        CALLBACK_TOKEN: TOKEN,
        DASHBOARD_PASSWORD: 'password-for-webhooks',
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_PRIVATE: 'true',
        SEND_RATE_MAX: 100,
        SENDER_RATE_MAX: 100,
      },
    });
    const env = { ...envOf(config), LOG_LEVEL: 'info' };
    let board = await stack.startCli(['dashboard'], env, 'dashboard listening');
    await until(async () => (await groupsOf(h.redis, h.keys.archive)).some((g) => g.name === 'webhooks:env'));
    const messages = Array.from({ length: 60 }, (_, i) => ({
      to: phone(i),
      body: BODIES.template,
      request_id: `k-${i}`,
    }));
    await enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign: 'kill', ledger: h.ledger, queue: h.send });
    await stack.startWorker();
    await until(() => receiver.received.length >= 20);
    board.child.kill('SIGKILL');
    await board.exited;
    board = await stack.startCli(['dashboard'], env, 'dashboard listening');
    try {
      await campaignDone(h.ledger, 'kill');
      await until(async () => sim.pendingCallbacks === 0);
      // What the ledger holds (callbacks posted while the dashboard was down are lost to it: not the feed's).
      const records = await collect(h.ledger.export('kill'));
      const expected = new Set<string>(['campaign.started kill']);
      for (const r of records) {
        expected.add(`message.sent ${r.request_id}`);
        const final = r.delivery?.status;
        if (final === 'failed') expected.add(`message.failed ${r.request_id}`);
        if (final === 'delivered' || final === 'read') expected.add(`message.delivered ${r.request_id}`);
        if (final === 'read') expected.add(`message.read ${r.request_id}`);
      }
      const seen = () =>
        new Set(
          receiver.received.map((r) => {
            const body = verify(secret, r) as Body;
            return `${body.type} ${subjectOf(body)}`;
          }),
        );
      await until(() => [...expected].every((e) => seen().has(e)), 30_000).catch((error: Error) => {
        const got = seen();
        throw new Error(`${error.message}: missing ${[...expected].filter((e) => !got.has(e)).join(', ')}`);
      });
      // The same event twice is a delivery made again: it carries the same webhook-id.
      const idsOf = new Map<string, Set<string>>();
      for (const r of receiver.received) {
        const body = verify(secret, r) as Body;
        const key = `${body.type} ${subjectOf(body)}`;
        idsOf.set(key, (idsOf.get(key) ?? new Set()).add(r.id));
      }
      expect([...idsOf.entries()].filter(([, ids]) => ids.size > 1)).toEqual([]);
      // The request in flight when it was killed came again, with its webhook-id.
      const inFlight = receiver.received[19]?.id;
      expect(receiver.received.filter((r) => r.id === inFlight).length).toBeGreaterThanOrEqual(2);
    } finally {
      board.child.kill('SIGTERM');
      await board.exited;
    }
  }, 120_000);
  it('lose no event when a worker is killed mid-campaign: every settled message has its event, each under one webhook-id', async () => {
    const receiver = await receiving(() => 200);
    const secret = newSecret();
    // Every request answered after 300 ms: the killed worker has requests in flight.
    const { sim, config, h } = await stack.start({
      simulator: { latencyMs: 300 },
      config: {
        WEBHOOK_URL: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WORKER_CONCURRENCY: 10,
        WORKER_LOCK_MS: 3000,
      },
      dashboard: true,
    });
    await until(async () => (await groupsOf(h.redis, h.keys.archive)).some((g) => g.name === 'webhooks:env'));
    const messages = Array.from({ length: 40 }, (_, i) => ({
      to: phone(i),
      body: BODIES.template,
      request_id: `w-${i}`,
    }));
    await enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign: 'wkill', ledger: h.ledger, queue: h.send });
    const first = await stack.startCli(['worker'], { ...envOf(config), LOG_LEVEL: 'info' });
    await until(() => sim.getStats().requests >= 15);
    first.child.kill('SIGKILL');
    await first.exited;
    await stack.startWorker();
    await campaignDone(h.ledger, 'wkill');
    await feedDrained(h);
    const records = await collect(h.ledger.export('wkill'));
    expect(records).toHaveLength(40);
    const seen = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const body = verify(secret, r) as Body;
      const key = `${body.type} ${subjectOf(body)}`;
      seen.set(key, (seen.get(key) ?? new Set()).add(r.id));
    }
    // Each message's settle is in the feed: sent, or dead (a request the killed worker had in flight).
    const missing = records.filter(
      (r) => !seen.has(`message.${r.status === 'sent' ? 'sent' : 'dead'} ${r.request_id}`),
    );
    expect(missing.map((r) => `${r.request_id} ${r.status}`)).toEqual([]);
    expect(records.some((r) => r.status === 'dead' && r.error?.reason === 'unknown_outcome')).toBe(true);
    expect([...seen.entries()].filter(([, ids]) => ids.size > 1)).toEqual([]);
  }, 120_000);
});
