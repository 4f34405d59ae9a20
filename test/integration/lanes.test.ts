import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { collectStatus } from '../../src/status/status.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** Sender lanes and WhatsApp's own limits, with real workers and the simulator. */

const A = '8613800138001';
const B = '8613800138002';
const stack = useStack();

const message = (
  i: number,
  from: string | undefined,
  body = BODIES.text as Record<string, unknown>,
  to = phone(i),
) => ({ to, body, request_id: `m-${from ?? 'd'}-${i}`, ...(from && { from }) });

async function enqueueAll(harnessed: Harness, campaign: string, messages: unknown[]) {
  return enqueue(readJsonl(Readable.from([jsonl(messages)])), {
    campaign,
    ledger: harnessed.ledger,
    queue: harnessed.send,
  });
}

type ByFrom = Record<string, { arrivals: number; max_in_window: number; steady_per_second: number | null }>;

describe('sender lanes', () => {
  it('two lanes at different limits each stay under their own limit in every window, and send at the same time', async () => {
    const api = await stack.startSimulatorProcess(['--record-arrivals']);
    const { config, h } = await stack.start({
      config: {
        ENGAGELAB_BASE_URL: api,
        SEND_RATE_MAX: 1000,
        SENDER_RATE_MAX: 20,
        SENDER_RATES: `${B}=40`,
        WORKER_CONCURRENCY: 10,
        LOG_LEVEL: 'info',
      },
    });
    await enqueueAll(h, 'two', [
      ...Array.from({ length: 60 }, (_, i) => message(i, A)),
      ...Array.from({ length: 120 }, (_, i) => message(100 + i, B)),
    ]);
    for (let i = 0; i < 2; i++) {
      await stack.startCli(['worker'], envOf(config));
    }
    await campaignDone(h.ledger, 'two', 60_000);
    const stats = (await (await fetch(`${api}/_simulator/stats?window_ms=1000`)).json()) as {
      by_from: ByFrom;
      duplicates: number;
    };
    const a = stats.by_from[A];
    const b = stats.by_from[B];
    expect([a?.arrivals, b?.arrivals]).toEqual([60, 120]);
    // Each lane's own bound, with the API-side allowance the account limit's test has (a request can wait
    // after it left its worker on a busy machine).
    expect(a?.max_in_window).toBeLessThanOrEqual(22);
    expect(b?.max_in_window).toBeLessThanOrEqual(44);
    // Each uses its own limit: a lane waiting for the other would halve it.
    expect(a?.max_in_window).toBeGreaterThanOrEqual(18);
    expect(b?.max_in_window).toBeGreaterThanOrEqual(36);
    expect(stats.duplicates).toBe(0);
  });

  it('a backlog on a paused lane does not hold the other back, and a new number gets its lane without a restart', async () => {
    const { sim, config, h, env } = await stack.start({
      simulator: {},
      config: { SEND_RATE_MAX: 1000, SENDER_RATE_MAX: 1000, WORKER_CONCURRENCY: 5 },
    });
    await enqueueAll(
      h,
      'backlog',
      Array.from({ length: 200 }, (_, i) => message(i, A)),
    );
    expect((await runCli(['pause', '--sender', `+${A}`, '--reason', 'number under review'], env)).stdout).toBe(
      `sending paused for sender ${A}\n`,
    );
    await stack.startWorker();
    // B is a number the running worker has never seen.
    await enqueueAll(
      h,
      'other',
      Array.from({ length: 50 }, (_, i) => message(300 + i, B)),
    );
    await campaignDone(h.ledger, 'other', 20_000);
    expect(await h.ledger.campaign('backlog')).toMatchObject({ sent: 0, pending: 200 });
    const status = await collectStatus({ config, ...h }, 'backlog');
    expect(status.senders.find((s) => s.from === A)).toMatchObject({
      paused: true,
      pause_reason: 'number under review',
      waiting: 200,
    });
    expect(status.senders.find((s) => s.from === B)).toMatchObject({ paused: false, waiting: 0 });

    await runCli(['resume', '--sender', A], env);
    await campaignDone(h.ledger, 'backlog', 20_000);
    expect(sim.getStats().duplicates).toBe(0);
  });

  it('pause and resume refuse a sender lane the fleet does not know, naming the known ones, and register nothing', async () => {
    const { h, env } = await stack.start({ config: { SENDER_RATES: `${B}=20` } });
    await enqueueAll(h, 'known', [message(1, A)]);
    for (const command of ['pause', 'resume']) {
      const res = await runCli([command, '--sender', '+447911999888'], env);
      expect(res).toEqual({
        code: 1,
        stdout: '',
        stderr: `wa-bulk: --sender: no sender lane "447911999888" (no message was ever sent from it and SENDER_RATES does not name it); known lanes: default, ${A}, ${B}\n`,
      });
    }
    expect(Object.keys(await h.redis.hgetall(h.keys.lanes)).sort()).toEqual([A].sort());
    expect(await h.redis.exists(h.keys.lane('447911999888'))).toBe(0);
    // A number SENDER_RATES names may be paused before its first message.
    expect((await runCli(['pause', '--sender', B], env)).stdout).toBe(`sending paused for sender ${B}\n`);
  });

  it('the messaging limit holds exactly at its limit across two workers and releases as its window moves', async () => {
    const windowMs = 4000;
    const { sim, config, h } = await stack.start({
      simulator: {},
      config: { MESSAGING_LIMIT: 4, MESSAGING_WINDOW_MS: windowMs, WORKER_CONCURRENCY: 20 },
    });
    const seen: Array<{ at: number; to: string; id: string }> = [];
    sim.setOverride((body) => {
      seen.push({ at: Date.now(), to: String((body?.to as string[] | undefined)?.[0]), id: String(body?.request_id) });
      return undefined;
    });
    const otp = BODIES.otp as Record<string, unknown>;
    const templates = Array.from({ length: 10 }, (_, i) => message(i, i % 2 ? A : undefined, otp));
    // Text messages take no place.
    const texts = Array.from({ length: 3 }, (_, i) => message(50 + i, undefined));
    await enqueueAll(h, 'tier', [...templates, ...texts]);
    await stack.startWorker();
    await stack.startWorker();
    await until(async () => (await collectStatus({ config, ...h })).messaging_limit.held === 6, 10_000);
    expect((await collectStatus({ config, ...h })).messaging_limit).toEqual({ limit: 4, used: 4, held: 6 });
    const isTemplate = (to: string) => templates.some((t) => t.to === `+${to}`);
    expect(seen.filter((s) => isTemplate(s.to))).toHaveLength(4);
    expect(seen.filter((s) => !isTemplate(s.to))).toHaveLength(3);

    // A recipient already in the window takes no new place: its next template message leaves while the others wait.
    const admitted = seen.find((s) => isTemplate(s.to))?.to as string;
    await enqueueAll(h, 'tier', [{ to: `+${admitted}`, body: otp, request_id: 'again', from: A }]);
    await until(() => seen.some((s) => s.id === 'again'), 5000);
    expect(seen.filter((s) => isTemplate(s.to) && s.id !== 'again')).toHaveLength(4);

    await campaignDone(h.ledger, 'tier', 30_000);
    const arrivals = seen.filter((s) => isTemplate(s.to));
    expect(new Set(arrivals.map((s) => s.to)).size).toBe(10);
    // In any window of windowMs (less the time a request takes to reach the simulator), at most 4 distinct
    // recipients of template messages.
    for (const first of arrivals) {
      const inWindow = new Set(
        arrivals.filter((s) => s.at >= first.at && s.at < first.at + windowMs - 100).map((s) => s.to),
      );
      expect(inWindow.size).toBeLessThanOrEqual(4);
    }
    expect(sim.getStats().duplicates).toBe(0);
  });

  it('keeps PAIR_INTERVAL_MS between two messages from one number to one recipient, and lets others pass', async () => {
    const { sim, h } = await stack.start({ simulator: {}, config: { PAIR_INTERVAL_MS: 1000 } });
    const seen: Array<{ at: number; id: string }> = [];
    sim.setOverride((body) => {
      seen.push({ at: performance.now(), id: String(body?.request_id) });
      return undefined;
    });
    const same = Array.from({ length: 3 }, (_, i) => ({ ...message(0, A), request_id: `same-${i}` }));
    const others = Array.from({ length: 3 }, (_, i) => ({ ...message(10 + i, A), request_id: `other-${i}` }));
    await enqueueAll(h, 'pair', [...same, ...others]);
    await stack.startWorker();
    await campaignDone(h.ledger, 'pair', 20_000);
    const at = (id: string) => seen.find((s) => s.id === id)?.at ?? Number.NaN;
    const times = same.map((m) => at(m.request_id)).sort((x, y) => x - y);
    // The grant's pair key is set before the request leaves; at the simulator a gap can shrink by the time a
    // request waits after its grant on a busy machine. Without the interval the gaps are a few ms.
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(800);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(800);
    for (const m of others) expect(at(m.request_id)).toBeLessThan(times[1] as number);
  });
});
