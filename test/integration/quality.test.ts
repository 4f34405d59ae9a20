import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import type { ConfigInput } from '../../src/config.js';
import { collectStatus } from '../../src/status/status.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, collect, envOf, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** The session window and the quality guard, fed by delivery callbacks through the real dashboard. */

const A = '8613800138001';
const B = '8613800138002';
const stack = useStack();

/** `simulatorCallbacks`: the simulator posts its own delivery callbacks; else only the test's rows arrive. */
async function setup(overrides: ConfigInput = {}, simulatorCallbacks = false) {
  const { config, h, sim, dashboard } = await stack.start({
    simulator: (dashboardUrl) =>
      simulatorCallbacks
        ? { callbackUrl: `${dashboardUrl}/callbacks/engagelab`, callbackDelayMs: 20, deliveryFailRate: 0 }
        : {},
    config: overrides,
    dashboard: true,
    worker: true,
  });
  return { config, h, sim, callbackUrl: `${dashboard.url}/callbacks/engagelab` };
}

const send = (harnessed: Harness, campaign: string, messages: unknown[]) =>
  enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign, ledger: harnessed.ledger, queue: harnessed.send });

/** A delivery callback row as EngageLab posts it, for a message wa-bulk sent. */
const failedRow = (messageId: string, from: string, code: number) => ({
  message_id: messageId,
  from,
  to: '447911123456',
  itime: Math.floor(Date.now() / 1000),
  status: {
    message_status: 'delivered_failed',
    error_code: code,
    error_detail: { message: `Meta ${code}` },
    loss: { loss_step: 3, loss_source: 'meta' },
  },
});
const deliveredRow = (messageId: string) => ({
  message_id: messageId,
  itime: Math.floor(Date.now() / 1000),
  status: { message_status: 'delivered', error_code: 0 },
});

async function post(url: string, rows: unknown[]): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ total: rows.length, rows }),
  });
  expect(res.status).toBe(200);
}

describe('the session window', () => {
  it('with SESSION_CHECK=enforce skips a non-template message to someone who has not written, and sends once they have', async () => {
    const { h, sim } = await setup({ SESSION_CHECK: 'enforce' }, true);
    await send(h, 's', [
      { to: phone(1), body: BODIES.text, request_id: 'no-session' },
      { to: phone(2), body: BODIES.otp, request_id: 'template' },
    ]);
    await campaignDone(h.ledger, 's');
    expect(await h.ledger.get('no-session')).toMatchObject({
      status: 'skipped',
      attempts: 0,
      error: { reason: 'no_session', code: null },
    });
    expect(await h.ledger.get('template')).toMatchObject({ status: 'sent' });
    expect(sim.acceptedByRequestId.has('no-session')).toBe(false);

    // The recipient writes (an inbound `received` row): a session message to them now goes.
    expect(await sim.inbound([phone(3).slice(1)])).toBe(200);
    await until(async () => (await h.redis.exists(h.keys.session(phone(3).slice(1)))) === 1);
    await send(h, 's', [{ to: phone(3), body: BODIES.text, request_id: 'in-session' }]);
    await campaignDone(h.ledger, 's');
    expect(await h.ledger.get('in-session')).toMatchObject({ status: 'sent' });
    expect(await h.ledger.campaign('s')).toMatchObject({ total: 3, sent: 2, skipped: 1, pending: 0 });
  });
});

describe('the quality guard', () => {
  it('131048 pauses only the lane it came from; 130429 slows its lane down', async () => {
    const { config, callbackUrl, h, sim } = await setup({ SENDER_RATE_MAX: 100 });
    await send(h, 'q', [
      { to: phone(1), body: BODIES.otp, from: A, request_id: 'a-1' },
      { to: phone(2), body: BODIES.otp, from: B, request_id: 'b-1' },
    ]);
    await campaignDone(h.ledger, 'q');
    const mid = async (id: string) => (await h.ledger.get(id))?.message_id as string;
    await post(callbackUrl, [failedRow(await mid('a-1'), A, 131048), failedRow(await mid('b-1'), B, 130429)]);
    // One batch: A's pause and B's slow-down are applied one after the other; wait for both.
    await until(async () => {
      const senders = (await collectStatus({ config, ...h })).senders;
      return senders.find((s) => s.from === A)?.paused === true && senders.find((s) => s.from === B)?.rate_now === 50;
    });
    const status = await collectStatus({ config, ...h });
    expect(status.senders.find((s) => s.from === A)?.pause_reason).toMatch(
      /^quality: Meta 131048 \(spam rate limit\) for messages from 8613800138001/,
    );
    expect(status.senders.find((s) => s.from === B)).toMatchObject({ paused: false, rate_max: 100, rate_now: 50 });
    expect(status.paused).toBe(false);

    await send(h, 'q2', [
      { to: phone(3), body: BODIES.otp, from: A, request_id: 'a-2' },
      { to: phone(4), body: BODIES.otp, from: B, request_id: 'b-2' },
    ]);
    await until(async () => (await h.ledger.get('b-2'))?.status === 'sent');
    expect((await h.ledger.get('a-2'))?.status).toBe('pending');
    expect(sim.acceptedByRequestId.has('a-2')).toBe(false);
  });

  it('pauses a campaign whose failed share in its latest QUALITY_WINDOW outcomes passes QUALITY_MAX_FAILED; resume sends the rest', async () => {
    const { config, callbackUrl, h, sim } = await setup({ QUALITY_WINDOW: 10, QUALITY_MAX_FAILED: 0.2 });
    await send(
      h,
      'bad',
      Array.from({ length: 10 }, (_, i) => ({ to: phone(i), body: BODIES.otp, request_id: `bad-${i}` })),
    );
    await campaignDone(h.ledger, 'bad');
    const records = await collect(h.ledger.export('bad'));
    // 7 delivered, 3 failed: 30% > 20%.
    await post(
      callbackUrl,
      records.map((r, i) =>
        i < 3 ? failedRow(r.message_id as string, '8613800138000', 131026) : deliveredRow(r.message_id as string),
      ),
    );
    await until(async () => (await h.redis.hget(h.keys.campaign('bad'), 'state')) === 'paused');
    expect(await h.redis.hget(h.keys.campaign('bad'), 'pause_reason')).toMatch(
      /^quality: 30% of the latest 10 delivery outcomes failed/,
    );

    // Its next messages wait (parked), another campaign's go.
    await send(
      h,
      'bad',
      Array.from({ length: 5 }, (_, i) => ({ to: phone(20 + i), body: BODIES.otp, request_id: `bad-more-${i}` })),
    );
    await send(h, 'good', [{ to: phone(30), body: BODIES.otp, request_id: 'good-1' }]);
    await campaignDone(h.ledger, 'good');
    await until(async () => (await h.redis.scard(h.keys.campaignParked('bad'))) === 5);
    expect(await h.ledger.campaign('bad')).toMatchObject({ sent: 10, pending: 5 });

    const resumed = await runCli(['resume', '--campaign', 'bad'], envOf(config));
    expect(resumed.stdout).toBe('campaign bad resumed (5 parked message(s) back in their queues)\n');
    await campaignDone(h.ledger, 'bad');
    expect(await h.ledger.campaign('bad')).toMatchObject({ sent: 15, pending: 0 });
    expect(sim.getStats().duplicates).toBe(0);
  });
});
