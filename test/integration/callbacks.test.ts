import { afterAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { DeliveryLedger } from '../../src/ledger/delivery-ledger.js';
import { contract, startDashboard } from '../helpers/contract.js';
import type { SimulatorOptions } from '../../src/simulator/simulator.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';
import { addPending, campaignDone, collect, testConfig, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

const TOKEN = 'cb_token_0123456789abcdef';
const stack = useStack();

async function setup(count: number, simOptions: Partial<SimulatorOptions> = {}) {
  const { config, h, sim, dashboard } = await stack.start({
    simulator: (dashboardUrl) => ({
      callbackUrl: `${dashboardUrl}/callbacks/engagelab/${TOKEN}`,
      callbackDelayMs: 50,
      deliveryFailRate: 0.1,
      readRate: 0.5,
      shuffleRate: 0.3,
      ...simOptions,
    }),
    config: { CALLBACK_TOKEN: TOKEN, DASHBOARD_PASSWORD: 'password-for-callbacks' },
    dashboard: startDashboard,
  });
  const lines = jsonl(
    Array.from({ length: count }, (_, i) => ({
      to: phone(i),
      body: i % 2 ? BODIES.otp : BODIES.text,
      request_id: `cb-${i}`,
    })),
  );
  await enqueue(readJsonl(Readable.from([lines])), { campaign: 'cb', ledger: h.ledger, queue: h.send });
  return { config, h, sim, url: dashboard.url };
}

describe('delivery callbacks', () => {
  it('carry each message to its furthest delivery state, whatever the order of the rows, into export and the funnel', async () => {
    const { h, sim, url } = await setup(200);
    const worker = await stack.startWorker(testConfig({ ENGAGELAB_BASE_URL: sim.url, QUEUE_PREFIX: h.keys.prefix }));
    await campaignDone(h.ledger, 'cb');
    await until(
      async () =>
        sim.pendingCallbacks === 0 &&
        (await h.redis.llen(`${h.keys.prefix}:callbacks:wait`)) === 0 &&
        (await h.redis.zcard(`${h.keys.prefix}:callbacks:active`).catch(() => 0)) === 0,
    );
    await until(async () => {
      const records = await collect(h.ledger.export('cb'));
      return records.every((r) => r.delivery && r.delivery.status === sim.finalDelivery.get(r.message_id ?? ''));
    });
    expect(sim.callbackStats.failedPosts).toBe(0);

    const records = await collect(h.ledger.export('cb'));
    const expected = { delivered: 0, read: 0, failed: 0 };
    for (const r of records) {
      const final = sim.finalDelivery.get(r.message_id ?? '');
      expect(r.delivery?.status).toBe(final);
      if (final === 'failed') expect(r.delivery?.error_code).toBe(131026);
      if (final === 'read' || final === 'delivered') expected.delivered++;
      if (final === 'read') expected.read++;
      if (final === 'failed') expected.failed++;
    }
    expect(expected.failed).toBeGreaterThan(0);
    expect(expected.read).toBeGreaterThan(0);
    const counts = await h.ledger.campaign('cb');
    expect(counts?.delivery).toEqual({ sent: 200, ...expected });

    // /metrics counts what the funnel counts, with its names (not EngageLab's raw statuses or transitions).
    await worker.close();
    const metrics = await (
      await fetch(`${url}/metrics`, {
        headers: { Authorization: `Basic ${Buffer.from('admin:password-for-callbacks').toString('base64')}` },
      })
    ).text();
    const series = Object.fromEntries(
      [...metrics.matchAll(/^wa_bulk_delivery_total\{status="(\w+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
    );
    expect(series).toEqual({ sent: 200, ...expected });
  });

  it('applies a row that arrives before the message_id is recorded, once it is', async () => {
    const { h } = await stack.start();
    await addPending(h, 'orph', ['o-1']);
    const delivery = new DeliveryLedger(h.redis, h.ledger);
    expect(
      (await delivery.apply({ message_id: 'mid-early', itime: 1_700_000_000, status: { message_status: 'read' } }))
        .result,
    ).toBe('orphaned');
    expect(await h.ledger.markSent('o-1', 'orph', 'mid-early')).toBe('orphans');
    expect(await delivery.adopt('mid-early', 'o-1', 'orph')).toBe(1);
    expect((await h.ledger.get('o-1'))?.delivery).toEqual({
      status: 'read',
      at: new Date(1_700_000_000_000).toISOString(),
      error_code: null,
    });
    expect(await h.redis.exists(h.keys.orphan('mid-early'))).toBe(0);
  });

  it('pauses a running campaign on insufficient_balance, with the reason in status and a metric that resume clears', async () => {
    const { url, h, sim } = await setup(400, { latencyMs: 20 });
    await stack.startWorker(
      testConfig({ ENGAGELAB_BASE_URL: sim.url, QUEUE_PREFIX: h.keys.prefix, SEND_RATE_MAX: 100 }),
    );
    await until(async () => ((await h.ledger.campaign('cb'))?.sent ?? 0) > 20);
    expect(await sim.notify('insufficient_balance', { remain_balance: 1.5, balance_threshold: 10 })).toBe(200);
    await until(() => h.send.isPaused());
    await until(async () => (await h.send.getActiveCount()) === 0);
    const sentAtPause = sim.getStats().accepted;
    await sleep(300);
    expect(sim.getStats().accepted).toBe(sentAtPause);
    const { pauseState } = await import('../../src/lanes/fleet.js');
    expect(await pauseState(h.redis, h.keys)).toMatchObject({
      paused: true,
      reason: 'from a callback: insufficient_balance: EngageLab balance 1.5 is below 10',
    });
    expect(((await h.ledger.campaign('cb'))?.pending ?? 0) > 0).toBe(true);
    const auth = { Authorization: `Basic ${Buffer.from('admin:password-for-callbacks').toString('base64')}` };
    const pausedByCallback = async () =>
      /^wa_bulk_paused_by_callback (\d)$/m.exec(await (await fetch(`${url}/metrics`, { headers: auth })).text())?.[1];
    expect(await pausedByCallback()).toBe('1');
    const { resumeSending } = await import('../../src/lanes/fleet.js');
    await resumeSending(h.redis, h.keys);
    expect(await pausedByCallback()).toBe('0');
  });

  it('answers hostile bodies with a 4xx and stays up; other paths get 404', async () => {
    const { url } = await setup(1);
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': type }, body });
    const good = `/callbacks/engagelab/${TOKEN}`;
    expect((await post('/callbacks/engagelab', '{"rows":[]}')).status).toBe(404);
    expect((await post('/callbacks/engagelab/wrong-token-000000', '{"rows":[]}')).status).toBe(404);
    expect((await post(good, '{"rows": [')).status).toBe(400);
    expect((await post(good, '{"rows": []}')).status).toBe(400);
    // A row of an unknown shape is kept aside; the batch is answered 200 (test/integration/callback-intake.test.ts).
    expect((await post(good, JSON.stringify({ rows: [{ message_id: 1, status: {} }] }))).status).toBe(200);
    expect((await post(good, 'x'.repeat(2 * 1024 * 1024))).status).toBe(413);
    expect((await post(good, '{}', 'text/plain')).status).toBe(415);
    const ok = await post(
      good,
      JSON.stringify({ total: 1, rows: [{ message_id: 'unknown-mid', status: { message_status: 'delivered' } }] }),
    );
    expect(ok.status).toBe(200);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });
});

// Every answer these tests received, held to the published contract (test/helpers/contract.ts).
afterAll(() => contract.expectConforming());
