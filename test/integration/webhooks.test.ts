import { afterEach, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { groupsOf } from '../../src/events/feed.js';
import { newSecret } from '../../src/events/signing.js';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import { pauseSending, resumeSending } from '../../src/lanes/fleet.js';
import { freePort } from '../../src/dev/redis-server.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { startSendWorker, type SendWorker } from '../../workers/send-worker.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';
import { startReceiver, verify } from '../helpers/webhook-receiver.js';
import {
  campaignDone,
  collect,
  harness,
  silentLogger,
  startSimulator,
  testConfig,
  until,
  type Harness,
} from '../helpers/env.js';

const TOKEN = 'cb_token_0123456789abcdef';
let h: Harness | undefined;
let sim: Simulator | undefined;
let worker: SendWorker | undefined;
let dashboard: Dashboard | undefined;
let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
afterEach(async () => {
  await worker?.close();
  await dashboard?.close();
  await sim?.stop();
  await receiver?.close();
  await h?.close();
  worker = dashboard = h = sim = receiver = undefined;
});

type Body = { type: string; timestamp: string; data: Record<string, unknown> };

/** What an event is about: the message's request_id, the campaign's id, the user, or nothing. */
const subjectOf = (body: Body): string =>
  String(body.data.request_id ?? (body.type.startsWith('campaign.') ? body.data.id : (body.data.user ?? '')));

/** Resolves once the dispatcher has read and acknowledged everything in the feed. */
async function feedDrained(k: Harness): Promise<void> {
  await until(async () => {
    const group = (await groupsOf(k.redis, k.keys.archive)).find((g) => g.name === 'webhooks');
    if (group === undefined || group.pending > 0) return false;
    return (await k.redis.xrange(k.keys.archive, `(${group.lastDelivered}`, '+', 'COUNT', 1)).length === 0;
  }, 30_000);
}

describe('webhooks', () => {
  it('deliver exactly the expected events of a campaign, each signed as Standard Webhooks v1', async () => {
    receiver = await startReceiver();
    const secret = newSecret();
    const port = await freePort();
    sim = await startSimulator({
      callbackUrl: `http://127.0.0.1:${port}/callbacks/engagelab/${TOKEN}`,
      callbackDelayMs: 30,
      deliveryFailRate: 0.3,
      readRate: 0.5,
      replyRate: 1,
      shuffleRate: 0,
      templates: ['order_update', 'login_code'],
    });
    const config = testConfig({
      ENGAGELAB_BASE_URL: sim.url,
      DASHBOARD_PORT: port,
      CALLBACK_TOKEN: TOKEN,
      DASHBOARD_PASSWORD: 'password-for-webhooks',
      SESSION_CHECK: 'enforce',
      WEBHOOK_URL: receiver.url,
      WEBHOOK_SECRET: secret,
      WEBHOOK_ALLOW_PRIVATE: 'true',
    });
    h = harness(config);
    dashboard = await startDashboard(config, silentLogger());
    // The dispatcher has made its group: from now on the ledger writes the feed.
    await until(async () => (await groupsOf(h!.redis, h!.keys.archive)).some((g) => g.name === 'webhooks'));
    const unknownTemplate = {
      ...BODIES.template,
      template: { ...(BODIES.template?.template as object), name: 'gone' },
    };
    const messages = [
      ...Array.from({ length: 8 }, (_, i) => ({ to: phone(i), body: BODIES.template, request_id: `t-${i}` })),
      { to: phone(8), body: unknownTemplate, request_id: 'dead-0' },
      { to: phone(10), body: BODIES.text, request_id: 'skip-0' },
      { to: phone(11), body: BODIES.text, request_id: 'skip-1' },
    ];
    await enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign: 'wh', ledger: h.ledger, queue: h.send });
    worker = await startSendWorker(config, silentLogger());
    await campaignDone(h.ledger, 'wh');
    await until(async () => sim!.pendingCallbacks === 0);
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

    await until(async () => (await h!.ledger.campaign('wh'))?.state === 'done');
    await until(() => receiver!.received.length >= expected.length, 30_000);
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
      if (body.type === 'message.sent') expect(body.data).toMatchObject({ status: 'sent', campaign: 'wh' });
      if (body.type === 'message.dead') expect(body.data).toMatchObject({ error: { code: 4001 } });
      if (body.type === 'message.skipped') expect(body.data).toMatchObject({ error: { reason: 'no_session' } });
      if (body.type === 'message.read') expect(body.data).toMatchObject({ delivery: { status: 'read' } });
      if (body.type === 'message.failed') expect(body.data).toMatchObject({ delivery: { error_code: 131026 } });
      if (body.type === 'message.replied') expect(body.data).toMatchObject({ campaign: 'wh', text: 'ok' });
      if (body.type === 'campaign.done') expect(body.data).toMatchObject({ id: 'wh', total: 11, dead: 1, skipped: 2 });
      if (body.type === 'sending.paused') expect(body.data).toEqual({ reason: 'insufficient balance' });
    }
  }, 120_000);
});
