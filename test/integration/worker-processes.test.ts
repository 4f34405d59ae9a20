import { describe, expect, it } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { campaignDone, collect, envOf, tempFile, testConfig, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

const stack = useStack();

function campaignFile(count: number, prefix: string): string {
  return tempFile(
    jsonl(Array.from({ length: count }, (_, i) => ({ to: phone(i), body: BODIES.text, request_id: `${prefix}-${i}` }))),
  );
}

describe('worker processes', () => {
  it('keeps two workers under one sliding-window limit (within 10% at the API), retries included, and reaches 90% of it', async () => {
    // The simulator runs in a process of its own, so the arrival times it records are not held up by jest.
    const api = await stack.startSimulatorProcess(['--record-arrivals', '--faults', 'error1000=0.1', '--seed', '7']);
    const { config, h } = await stack.start({
      config: {
        ENGAGELAB_BASE_URL: api,
        SEND_RATE_MAX: 40,
        SEND_RATE_DURATION_MS: 1000,
        WORKER_CONCURRENCY: 15,
        RETRY_RETRIES: 2,
        SEND_ATTEMPTS: 3,
        OUTAGE_THRESHOLD: 1000,
        LOG_LEVEL: 'info',
      },
    });
    const count = 300;
    await runCli(['enqueue', campaignFile(count, 'rl'), '--campaign', 'rl', '--json'], envOf(config));
    await stack.startCli(['worker'], envOf(config));
    await stack.startCli(['worker'], envOf(config));
    await campaignDone(h.ledger, 'rl', 60_000);

    const stats = (await (await fetch(`${api}/_simulator/stats?window_ms=1000`)).json()) as {
      arrivals: number;
      max_in_window: number;
      first_ms: number;
      last_ms: number;
      duplicates: number;
    };
    const retries = stats.arrivals - count;
    expect(retries).toBeGreaterThan(10);
    // Every request leaves within the trip allowance of its grant, by Redis's clock; at the API, a request delayed after that
    // by a busy machine (this test's two workers, the simulator, Redis and jest share the cores) can put one
    // more into a window now and then. The bound held at the API is the 1.1 × the limit.
    expect(stats.max_in_window).toBeLessThanOrEqual(44);
    // And the limit is used: some second holds at least 90% of it. The rate kept over the whole run is a
    // figure of the benchmark (its limiter step), not of this test: on a shared machine it follows the CPU
    // time the host lends (with half of it taken by other guests, every process here stands still in turns).
    expect(stats.max_in_window).toBeGreaterThanOrEqual(0.9 * 40);
    expect(await h.ledger.campaign('rl')).toMatchObject({ sent: count, dead: 0 });
    expect(stats.duplicates).toBe(0);
  });

  it('pauses after at most WORKER_CONCURRENCY requests on wrong credentials, then sends everything once after resume', async () => {
    const {
      sim,
      config: wrong,
      h,
    } = await stack.start({ simulator: {}, config: { ENGAGELAB_DEV_SECRET: 'not-the-secret', WORKER_CONCURRENCY: 5 } });
    await runCli(['enqueue', campaignFile(50, 'auth'), '--campaign', 'auth', '--json'], envOf(wrong));
    const worker = await stack.startWorker();
    await until(() => h.send.isPaused());
    await until(async () => (await h.send.getActiveCount()) === 0);
    expect(sim.getStats().requests).toBeLessThanOrEqual(5);
    expect(sim.getStats().accepted).toBe(0);

    const status = JSON.parse((await runCli(['status', '--campaign', 'auth', '--json'], envOf(wrong))).stdout);
    expect(status).toMatchObject({
      paused: true,
      pause_reason: expect.stringMatching(/^auth: EngageLab 2001 /),
      dead: 0,
      campaign: { total: 50, sent: 0, dead: 0, pending: 50 },
    });
    const waiting = await h.send.getJobs(['wait']);
    expect(waiting).toHaveLength(50);
    expect(waiting.every((job) => job.attemptsMade === 0)).toBe(true);

    await worker.close();
    const right = { ...wrong, ENGAGELAB_DEV_SECRET: testConfig().ENGAGELAB_DEV_SECRET };
    await stack.startWorker(right);
    expect((await runCli(['resume'], envOf(right))).code).toBe(0);
    await campaignDone(h.ledger, 'auth');
    expect(await h.ledger.campaign('auth')).toMatchObject({ sent: 50, dead: 0 });
    expect(sim.getStats().accepted).toBe(50);
    expect(sim.getStats().duplicates).toBe(0);
  });

  it('finishes a campaign after a worker is killed with SIGKILL: nothing lost, nothing accepted twice', async () => {
    const { sim, config, h } = await stack.start({
      simulator: { latencyMs: 100 },
      config: { WORKER_CONCURRENCY: 20, LOG_LEVEL: 'info' },
    });
    const count = 300;
    await runCli(['enqueue', campaignFile(count, 'kill'), '--campaign', 'kill', '--json'], envOf(config));
    const first = await stack.startCli(['worker'], envOf(config));
    await until(() => sim.getStats().accepted >= 80);
    first.child.kill('SIGKILL');
    await first.exited;
    const inFlight = await h.send.getActiveCount();
    expect(inFlight).toBeLessThanOrEqual(20);

    await stack.startCli(['worker'], envOf(config));
    await campaignDone(h.ledger, 'kill', 60_000);

    const records = await collect(h.ledger.export('kill'));
    expect(records).toHaveLength(count);
    const unknown = records.filter((r) => r.status === 'dead');
    expect(unknown.every((r) => r.error?.reason === 'unknown_outcome')).toBe(true);
    expect(unknown.length).toBeLessThanOrEqual(inFlight);
    expect(records.filter((r) => r.status === 'sent')).toHaveLength(count - unknown.length);
    expect(sim.getStats().duplicates).toBe(0);
    // Every message EngageLab accepted is in the ledger as sent, or as unknown_outcome (its answer was lost).
    const sentIds = new Set(records.filter((r) => r.status === 'sent').map((r) => r.request_id));
    const unknownIds = new Set(unknown.map((r) => r.request_id));
    for (const id of sim.acceptedByRequestId.keys()) expect(sentIds.has(id) || unknownIds.has(id)).toBe(true);
  });

  it('exits with 130 at a second SIGINT, saying how many requests it leaves in flight, and those end unknown_outcome', async () => {
    // Every request is accepted and answered a minute later: the worker's requests stay in flight.
    const { sim, config, h } = await stack.start({
      simulator: { slowMs: 60_000 },
      config: { WORKER_CONCURRENCY: 10, HTTP_TIMEOUT_MS: 30_000, LOG_LEVEL: 'info' },
    });
    sim.setFaults({ slow: 1 });
    await runCli(['enqueue', campaignFile(30, 'twice'), '--campaign', 'twice', '--json'], envOf(config));
    const w = await stack.startCli(['worker'], envOf(config));
    await until(() => sim.getStats().requests >= 10);
    w.child.kill('SIGINT');
    await until(() => w.output().includes('shutting down'));
    w.child.kill('SIGINT');
    expect(await w.exited).toBe(130);
    expect(w.output()).toContain(
      'second signal: exiting now; 10 requests in flight will be recorded as unknown outcome',
    );
    const inFlight = [...sim.acceptedByRequestId.keys()];

    // What it said: another worker takes them over and records them as unknown outcomes, and sends the rest.
    sim.setFaults({});
    await stack.startCli(['worker'], envOf(config));
    await campaignDone(h.ledger, 'twice');
    const records = await collect(h.ledger.export('twice'));
    const dead = records.filter((r) => r.status === 'dead');
    expect(dead.map((r) => r.request_id).sort()).toEqual(inFlight.sort());
    expect(dead.every((r) => r.error?.reason === 'unknown_outcome')).toBe(true);
    expect(records.filter((r) => r.status === 'sent')).toHaveLength(20);
    expect(sim.getStats()).toMatchObject({ requests: 30, duplicates: 0 });
  });

  it("takes a killed worker's jobs over within 1.2 × WORKER_LOCK_MS, even when it dies at the worst moment, and sends nothing twice", async () => {
    const lockMs = 4000;
    // The killed worker's requests stay in flight (accepted, answered a minute later); the other's are answered at once.
    const { sim, config, h } = await stack.start({
      simulator: { slowMs: 60_000 },
      config: { WORKER_CONCURRENCY: 10, WORKER_LOCK_MS: lockMs, HTTP_TIMEOUT_MS: 30_000, LOG_LEVEL: 'info' },
    });
    sim.setFaults({ slow: 1 });
    const redis = h.redis;
    await runCli(['enqueue', campaignFile(30, 'takeover'), '--campaign', 'takeover', '--json'], envOf(config));
    const first = await stack.startCli(['worker'], envOf(config));
    await until(() => sim.getStats().requests >= 10);
    const held = (await h.send.getActive())[0]?.id;
    if (held === undefined) throw new Error('the first worker holds no job');
    sim.setFaults({});
    await stack.startCli(['worker'], envOf(config));
    await until(async () => (await h.ledger.campaign('takeover'))?.sent === 20);

    // The worst moment to die: just after the worker renewed the lock of a job that a stalled check had marked
    // shortly before. The lock then lasts a whole WORKER_LOCK_MS, and the job must be marked again before a
    // check may move it back to wait.
    const stalled = h.send.toKey('stalled');
    const lastCheck = h.send.toKey('stalled-check');
    let marked = false;
    await until(async () => {
      const [member, checkedAt] = await Promise.all([redis.sismember(stalled, held), redis.get(lastCheck)]);
      if (member === 1) {
        marked = true;
        return false;
      }
      const renewedJustAfterCheck = marked && checkedAt !== null && Date.now() - Number(checkedAt) <= lockMs / 4;
      marked = false;
      return renewedJustAfterCheck;
    });
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    await campaignDone(h.ledger, 'takeover');
    // The bound docs/operations.md states, and a second for the machine (timers, the ten jobs, polling).
    expect(Date.now() - killedAt).toBeLessThanOrEqual(1.2 * lockMs + 1000);

    const records = await collect(h.ledger.export('takeover'));
    const dead = records.filter((r) => r.status === 'dead');
    expect(dead).toHaveLength(10);
    expect(dead.every((r) => r.error?.reason === 'unknown_outcome')).toBe(true);
    expect(sim.getStats()).toMatchObject({ requests: 30, accepted: 30, duplicates: 0 });
  });

  it('on SIGTERM finishes the sends in flight and exits 0 with nothing lost', async () => {
    const { sim, config, h } = await stack.start({
      simulator: { latencyMs: 200 },
      config: { WORKER_CONCURRENCY: 10, LOG_LEVEL: 'info' },
    });
    await runCli(['enqueue', campaignFile(100, 'term'), '--campaign', 'term', '--json'], envOf(config));
    const w = await stack.startCli(['worker'], envOf(config));
    await until(() => sim.getStats().requests >= 15);
    w.child.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.output()).toContain('worker stopped');
    const counts = await h.ledger.campaign('term');
    expect(counts?.dead).toBe(0);
    expect(counts?.sent).toBe(sim.getStats().accepted);
    expect(await h.send.getActiveCount()).toBe(0);
    expect((await h.send.getWaitingCount()) + (counts?.sent ?? 0)).toBe(100);
  });
});
