import { describe, expect, it } from '@jest/globals';
import { RATE_STALE_MS } from '../../src/lanes/lanes.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, tempFile, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** What `status`, the dashboard and the metrics say about the fleet, with the workers in processes of their own. */

const stack = useStack();

const campaignFile = (prefix: string, count: number) =>
  tempFile(
    jsonl(Array.from({ length: count }, (_, i) => ({ to: phone(i), body: BODIES.otp, request_id: `${prefix}-${i}` }))),
  );

interface Sender {
  from: string;
  rate_max: number;
  rate_now: number;
  window_ms: number;
  rate_source: string;
  workers: number;
}

describe("the fleet's figures", () => {
  it("status, the dashboard's API and Bull Board give the rate the workers use, not the caller's configuration", async () => {
    // The caller (status, the dashboard) is configured for 10,000/s; the worker for 7/s.
    const { config: caller, h, env } = await stack.start({ simulator: {}, config: { DASHBOARD_PORT: 0 } });
    const workerEnv = { ...envOf(caller), SEND_RATE_MAX: '50', SENDER_RATE_MAX: '7', LOG_LEVEL: 'info' };
    await runCli(['enqueue', campaignFile('r', 3), '--campaign', 'rates'], env);
    const senders = async (): Promise<Sender[]> => JSON.parse((await runCli(['status', '--json'], env)).stdout).senders;

    // No worker yet: the caller's configuration, marked as such.
    expect(await senders()).toEqual([
      expect.objectContaining({ from: 'default', rate_max: 10_000, rate_source: 'configuration', workers: 0 }),
    ]);
    expect((await runCli(['status'], env)).stdout).toMatch(
      /^sender {4}default +10,000 per 1,000 ms \(configured here: no worker running\) {2}waiting 3$/m,
    );

    const worker = await stack.startCli(['worker'], workerEnv);
    await campaignDone(h.ledger, 'rates');
    expect(await senders()).toEqual([
      expect.objectContaining({
        from: 'default',
        rate_max: 7,
        rate_now: 7,
        window_ms: 1000,
        rate_source: 'workers',
        workers: 1,
      }),
    ]);
    expect((await runCli(['status'], env)).stdout).toMatch(/^sender {4}default +7 per 1,000 ms {2}waiting 0$/m);

    const dashboard = await stack.startDashboard();
    const api = (await (await fetch(`${dashboard.url}/api/campaigns`)).json()) as { senders: Sender[] };
    expect(api.senders).toEqual([expect.objectContaining({ rate_max: 7, rate_now: 7, rate_source: 'workers' })]);
    const board = (await (await fetch(`${dashboard.url}/queues/api/queues`)).json()) as {
      queues: Array<{ name: string; description?: string }>;
    };
    expect(board.queues.find((q) => q.name === 'send')?.description).toBe(
      "messages from EngageLab's default number, at most 7 per 1000 ms",
    );
    const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
    expect(metrics).toMatch(/^wa_bulk_sender_rate\{from="default"\} 7$/m);

    // The worker stops: once its rate is older than RATE_STALE_MS, the caller's configuration again.
    worker.child.kill('SIGTERM');
    await worker.exited;
    const lane = h.keys.lane('default');
    for (const [field, value] of Object.entries(await h.redis.hgetall(lane)))
      if (field.startsWith('rate:')) {
        const [max, windowMs, at] = value.split('/');
        await h.redis.hset(lane, field, `${max}/${windowMs}/${Number(at) - RATE_STALE_MS - 1}`);
      }
    expect(await senders()).toEqual([
      expect.objectContaining({ rate_max: 10_000, rate_source: 'configuration', workers: 0 }),
    ]);
  });

  it('cancel skips the messages workers hold before their request, says so, and the metric agrees with the ledger', async () => {
    // Slow answers and a slow lane: the worker holds 20 jobs at a time, almost all waiting for their grant.
    const { sim, h, env } = await stack.start({
      simulator: { latencyMs: 150 },
      config: { SEND_RATE_MAX: 4, SENDER_RATE_MAX: 4, WORKER_CONCURRENCY: 20, DASHBOARD_PORT: 0 },
    });
    const total = 120;
    await runCli(['enqueue', campaignFile('c', total), '--campaign', 'held'], env);
    const worker = await stack.startCli(['worker'], { ...env, LOG_LEVEL: 'info' });
    await until(async () => sim.getStats().accepted >= 3 && (await h.send.getActiveCount()) >= 15, 20_000);

    const cancelled = await runCli(['cancel', '--campaign', 'held', '--json'], env);
    expect(cancelled.code).toBe(0);
    const answer = JSON.parse(cancelled.stdout) as { campaign: string; skipped_now: number };
    expect(answer).toMatchObject({ campaign: 'held', state: 'cancelled' });
    await campaignDone(h.ledger, 'held', 20_000);
    // Its counts are flushed as it stops.
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);

    const counts = await h.ledger.campaign('held');
    expect(counts).toMatchObject({ state: 'cancelled', pending: 0, dead: 0 });
    expect(counts?.sent).toBe(sim.getStats().accepted);
    expect((counts?.sent ?? 0) + (counts?.skipped ?? 0)).toBe(total);
    // Every skip is the cancel's: the held jobs included.
    expect(answer.skipped_now).toBe(counts?.skipped);
    const dashboard = await stack.startDashboard();
    const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
    expect(metrics).toContain(`wa_bulk_messages_skipped_total{reason="cancelled"} ${counts?.skipped}\n`);

    // The HTTP route answers the same count: nothing is left to skip now.
    const again = await fetch(`${dashboard.url}/api/campaigns/held/cancel`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(await again.json()).toMatchObject({ state: 'cancelled', skipped_now: 0 });
  });
});
