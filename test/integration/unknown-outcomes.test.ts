import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import type { ConfigInput } from '../../src/config.js';
import type { CallbackRow } from '../../src/engagelab/callbacks.js';
import { deadLetter, replayDeadLetters } from '../../src/ledger/dead-letters.js';
import { DeliveryLedger } from '../../src/ledger/delivery-ledger.js';
import type { DeadError } from '../../src/queue.js';
import type { SimulatorOptions } from '../../src/simulator/simulator.js';
import { addPending, campaignDone, collect, envOf, testConfig, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/**
 * Unknown outcomes resolved from EngageLab's reports: every send carries its request_id in custom_args
 * (wa_bulk_request_id), EngageLab echoes custom_args in its status callbacks, so a callback for a message_id
 * the ledger never learned (the answer was lost) names its message, which then ends sent, not dead.
 */

const TOKEN = 'cb_token_unknown_0123456789';
const stack = useStack();

const UNKNOWN: DeadError = {
  code: null,
  http_status: null,
  reason: 'unknown_outcome',
  message: 'request timed out after it was sent',
};
const TO = '447911123456';
const jobOf = (requestId: string, campaign: string) => ({
  request_id: requestId,
  campaign,
  payload: { to: [TO], body: BODIES.text as never, request_id: requestId },
});
/** A status row for a message_id, its custom_args naming a request_id (as EngageLab echoes them). */
const row = (messageId: string, requestId: string | undefined, status = 'delivered'): CallbackRow => ({
  message_id: messageId,
  itime: 1_700_000_000,
  status: { message_status: status },
  ...(requestId !== undefined && { custom_args: { order: 7, wa_bulk_request_id: requestId } }),
});
/** A pending message as the grant leaves it when its request leaves: in flight, one attempt counted. */
const markInflight = (harnessed: Harness, requestId: string) =>
  harnessed.redis.hset(harnessed.keys.message(requestId), 'inflight', Date.now(), 'attempts', 1);

/** The simulator posting its callbacks to a dashboard (whose callback worker applies them), and a config. */
function withCallbacks(simOptions: Partial<SimulatorOptions>, overrides: ConfigInput = {}) {
  return stack.start({
    simulator: (dashboardUrl) => ({
      callbackUrl: `${dashboardUrl}/callbacks/engagelab/${TOKEN}`,
      deliveryFailRate: 0,
      shuffleRate: 0,
      ...simOptions,
    }),
    config: { CALLBACK_TOKEN: TOKEN, DASHBOARD_PASSWORD: 'pw-for-unknown-outcomes', ...overrides },
    dashboard: true,
  });
}

async function enqueueText(harnessed: Harness, campaign: string, ids: string[], extra: object = {}) {
  const lines = jsonl(ids.map((id, i) => ({ to: phone(i), body: BODIES.text, request_id: id, ...extra })));
  await enqueue(readJsonl(Readable.from([lines])), { campaign, ledger: harnessed.ledger, queue: harnessed.send });
}

/** Every callback row the simulator scheduled has been posted and applied (the callback worker counts them). */
async function callbacksApplied(harnessed: Harness, timeoutMs = 30_000): Promise<void> {
  await until(
    async () =>
      stack.sim.pendingCallbacks === 0 &&
      Number(await harnessed.redis.hget(harnessed.keys.metrics, 'callback_rows')) === stack.sim.callbackStats.rows,
    timeoutMs,
  );
}

describe('a status callback names a message whose answer was lost', () => {
  it('records a dead unknown_outcome message as sent with that message_id, its counters moved and its dead letter dropped', async () => {
    const harnessed = stack.harness(testConfig());
    await addPending(harnessed, 'lost', ['l-1', 'l-2']);
    await harnessed.ledger.markSent('l-2', 'lost', 'mid-l-2');
    expect(await deadLetter(harnessed.dead, harnessed.ledger, jobOf('l-1', 'lost'), UNKNOWN, 1)).toBe('dead');
    expect(await harnessed.ledger.campaign('lost')).toMatchObject({ sent: 1, dead: 1, dead_by_code: { none: 1 } });

    const delivery = new DeliveryLedger(harnessed.redis, harnessed.ledger, harnessed.dead);
    expect(await delivery.apply(row('mid-l-1', 'l-1'))).toMatchObject({
      result: 'applied',
      campaign: 'lost',
      learned: { requestId: 'l-1', previous: 'dead' },
    });
    expect(await harnessed.ledger.get('l-1')).toMatchObject({
      status: 'sent',
      message_id: 'mid-l-1',
      error: null,
      delivery: { status: 'delivered' },
    });
    expect(await harnessed.ledger.requestIdOf('mid-l-1')).toBe('l-1');
    const counts = await harnessed.ledger.campaign('lost');
    expect(counts).toMatchObject({ sent: 2, dead: 0, pending: 0, delivery: { sent: 2, delivered: 1 } });
    expect(counts?.dead_by_code.none ?? 0).toBe(0);
    expect(await harnessed.dead.getWaitingCount()).toBe(0);
    // The timeline counts the learned send as it counts the settled one.
    const sentByMinute = (await harnessed.ledger.timeline('lost')).reduce((n, point) => n + point.sent, 0);
    expect(sentByMinute).toBe(2);
    // A later row of the same message goes by its message_id now.
    expect(await delivery.apply(row('mid-l-1', 'l-1', 'read'))).toMatchObject({ result: 'applied' });
    expect((await delivery.apply(row('mid-l-1', 'l-1', 'read'))).learned).toBeUndefined();
  });

  it('learns a pending message whose request is in flight; the worker then dead-lettering it on a timeout leaves it sent, with no dead letter', async () => {
    const harnessed = stack.harness(testConfig());
    await addPending(harnessed, 'race', ['r-1']);
    await markInflight(harnessed, 'r-1');
    const delivery = new DeliveryLedger(harnessed.redis, harnessed.ledger, harnessed.dead);
    expect((await delivery.apply(row('mid-r-1', 'r-1', 'sent'))).learned).toEqual({
      requestId: 'r-1',
      previous: 'pending',
    });
    // The worker's own outcome comes after: a timeout (dead letter), or the answer itself.
    expect(await deadLetter(harnessed.dead, harnessed.ledger, jobOf('r-1', 'race'), UNKNOWN, 1)).toBe('sent');
    expect(await harnessed.ledger.markSent('r-1', 'race', 'mid-r-1')).toBe('unchanged');
    expect(await harnessed.dead.getWaitingCount()).toBe(0);
    expect(await harnessed.ledger.get('r-1')).toMatchObject({ status: 'sent', message_id: 'mid-r-1', error: null });
    expect(await harnessed.ledger.campaign('race')).toMatchObject({ sent: 1, dead: 0, pending: 0 });
  });

  it('leaves alone a message that was not waiting for its outcome, and keeps those rows as orphans, as rows without the key', async () => {
    const harnessed = stack.harness(testConfig());
    await addPending(harnessed, 'alone', ['a-never', 'a-perm', 'a-sent', 'a-early']);
    await harnessed.ledger.markDead('a-perm', 'alone', {
      code: 4001,
      http_status: 400,
      reason: 'permanent',
      message: 'template does not exist',
    });
    await harnessed.ledger.markSent('a-sent', 'alone', 'mid-a-sent');
    const delivery = new DeliveryLedger(harnessed.redis, harnessed.ledger, harnessed.dead);
    // Its counters, not the campaign object, whose rate and ETA move with the clock.
    const before = await harnessed.redis.hgetall(harnessed.keys.campaign('alone'));
    // Never requested; dead for a known reason; sent under another message_id (a resend's second copy); unknown.
    for (const [messageId, requestId] of [
      ['mid-x1', 'a-never'],
      ['mid-x2', 'a-perm'],
      ['mid-x3', 'a-sent'],
      ['mid-x4', 'no-such-request'],
      ['mid-x5', 'bad id with spaces'],
    ] as const)
      expect(await delivery.apply(row(messageId, requestId))).toEqual({ result: 'orphaned' });
    expect(await harnessed.redis.hgetall(harnessed.keys.campaign('alone'))).toEqual(before);
    expect((await harnessed.ledger.get('a-sent'))?.message_id).toBe('mid-a-sent');
    expect((await harnessed.ledger.get('a-perm'))?.status).toBe('dead');

    // A row without the key, ahead of the worker's write of its message_id: kept, then adopted.
    await markInflight(harnessed, 'a-early');
    expect(await delivery.apply(row('mid-a-early', undefined, 'read'))).toEqual({ result: 'orphaned' });
    expect(await harnessed.ledger.markSent('a-early', 'alone', 'mid-a-early')).toBe('orphans');
    expect(await delivery.adopt('mid-a-early', 'a-early', 'alone')).toBe(1);
    expect((await harnessed.ledger.get('a-early'))?.delivery?.status).toBe('read');
  });

  it('dlq replay never resends a message the ledger has as sent: its dead letter is dropped and counted', async () => {
    const harnessed = stack.harness(testConfig());
    await addPending(harnessed, 'rp', ['u-1', 'u-2']);
    // Their send jobs have run (and ended as dead letters below).
    await harnessed.send.drain();
    for (const id of ['u-1', 'u-2']) await deadLetter(harnessed.dead, harnessed.ledger, jobOf(id, 'rp'), UNKNOWN, 1);
    // Learned with its dead letter still there (the callback worker stopped between the two).
    expect(await harnessed.ledger.learnMessageId('u-1', 'mid-u-1')).toEqual({
      campaign: 'rp',
      previous: 'dead',
      orphans: false,
    });
    expect(await harnessed.dead.getWaitingCount()).toBe(2);

    expect(await replayDeadLetters(harnessed.dead, harnessed.send, harnessed.ledger, {})).toEqual({
      replayed: 0,
      leftOut: 1,
      leftOutBy: { unknown_outcome: 1, campaign_cancelled: 0 },
      alreadySent: 1,
      malformed: [],
    });
    expect(await harnessed.dead.getWaitingCount()).toBe(1);
    expect(
      await replayDeadLetters(harnessed.dead, harnessed.send, harnessed.ledger, { reason: 'unknown_outcome' }),
    ).toEqual({
      replayed: 1,
      leftOut: 0,
      leftOutBy: { unknown_outcome: 0, campaign_cancelled: 0 },
      alreadySent: 0,
      malformed: [],
    });
    expect((await harnessed.send.getJobs(['wait'])).map((job) => job.data.request_id)).toEqual(['u-2']);
    expect(await harnessed.ledger.get('u-1')).toMatchObject({ status: 'sent', message_id: 'mid-u-1' });
    expect(await harnessed.ledger.campaign('rp')).toMatchObject({ sent: 1, dead: 0, pending: 1 });
  });
});

describe('custom_args sent to EngageLab', () => {
  it("carry the request_id under wa_bulk_request_id beside the user's own keys, which the dead letter keeps as given", async () => {
    const { sim, h } = await stack.start({ simulator: { templates: [] } });
    const bodies = new Map<string, Record<string, unknown>>();
    sim.setOverride((body) => {
      bodies.set(String(body?.request_id), body ?? {});
      return body?.request_id === 'ca-2' ? { status: 400, body: { code: 4001, message: 'no template' } } : 'ok';
    });
    await enqueueText(h, 'ca', ['ca-1', 'ca-2'], { custom_args: { order: 1001, note: { a: [1] } } });
    await enqueueText(h, 'ca', ['ca-3']);
    await stack.startWorker();
    await campaignDone(h.ledger, 'ca');
    expect(bodies.get('ca-1')?.custom_args).toEqual({ order: 1001, note: { a: [1] }, wa_bulk_request_id: 'ca-1' });
    expect(bodies.get('ca-3')?.custom_args).toEqual({ wa_bulk_request_id: 'ca-3' });
    const [dead] = await h.dead.getJobs(['wait']);
    expect(dead?.data.payload.custom_args).toEqual({ order: 1001, note: { a: [1] } });
  });
});

describe('requests whose answer is lost', () => {
  it('a request that times out after EngageLab accepted it is dead as unknown_outcome until its callback arrives, then sent with its message_id', async () => {
    const { h, sim } = await withCallbacks({ slowMs: 4000, callbackDelayMs: 2500 }, { HTTP_TIMEOUT_MS: 300 });
    sim.setOverride((body) => (body?.request_id === 'to-slow' ? 'slow' : undefined));
    await enqueueText(h, 'to', ['to-1', 'to-slow', 'to-2']);
    await stack.startWorker();
    await campaignDone(h.ledger, 'to');
    // Timed out: dead, with a dead letter, before EngageLab's callback names it.
    expect(await h.ledger.get('to-slow')).toMatchObject({ status: 'dead', error: { reason: 'unknown_outcome' } });
    expect(await h.dead.getWaitingCount()).toBe(1);

    await callbacksApplied(h);
    expect(await h.ledger.get('to-slow')).toMatchObject({
      status: 'sent',
      message_id: sim.messageIdByRequestId.get('to-slow'),
      error: null,
      delivery: { status: expect.stringMatching(/^(delivered|read)$/) },
    });
    expect(await h.dead.getWaitingCount()).toBe(0);
    expect(await h.ledger.campaign('to')).toMatchObject({ sent: 3, dead: 0, pending: 0 });
    expect(sim.getStats().duplicates).toBe(0);
  });

  it('after a worker process is killed mid-campaign, every request EngageLab accepted ends sent with its message_id once the callbacks arrive, none sent twice', async () => {
    // Callbacks come 4 s after acceptance: mostly after the next worker has taken over the killed one's jobs
    // (WORKER_LOCK_MS 2 s) and dead-lettered those that were in flight.
    const { config, h, sim } = await withCallbacks(
      { latencyMs: 300, callbackDelayMs: 4000 },
      // The worker processes say when they are ready in their log.
      { WORKER_CONCURRENCY: 20, LOG_LEVEL: 'info' },
    );
    const count = 150;
    await enqueueText(
      h,
      'kill',
      Array.from({ length: count }, (_, i) => `k-${i}`),
    );
    const first = await stack.startCli(['worker'], envOf(config));
    await until(() => sim.getStats().requests >= 60);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await h.send.getActiveCount()).toBeGreaterThan(0);

    await stack.startCli(['worker'], envOf(config));
    await campaignDone(h.ledger, 'kill', 60_000);
    await callbacksApplied(h, 60_000);

    const records = new Map((await collect(h.ledger.export('kill'))).map((r) => [r.request_id, r]));
    expect(records.size).toBe(count);
    expect(sim.messageIdByRequestId.size).toBeGreaterThan(0);
    for (const [requestId, messageId] of sim.messageIdByRequestId)
      expect([requestId, records.get(requestId)?.status, records.get(requestId)?.message_id]).toEqual([
        requestId,
        'sent',
        messageId,
      ]);
    // Dead: only what EngageLab never accepted.
    const dead = [...records.values()].filter((r) => r.status === 'dead');
    for (const r of dead) expect(sim.messageIdByRequestId.has(r.request_id)).toBe(false);
    expect(await h.dead.getWaitingCount()).toBe(dead.length);
    expect(sim.getStats().duplicates).toBe(0);
    expect(await h.ledger.campaign('kill')).toMatchObject({ sent: count - dead.length, dead: dead.length });
  }, 90_000);
});
