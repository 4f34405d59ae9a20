import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer } from '../../src/dev/redis-server.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { runCli, startCli } from '../helpers/cli.js';
import {
  campaignDone,
  collect,
  envOf,
  harness,
  startSimulator,
  tempFile,
  testConfig,
  type Harness,
} from '../helpers/env.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/**
 * Fault scenarios with figures. CI runs them at a smaller size; WA_BULK_FULL=1 runs the sizes of the
 * Reliability table in docs/performance.md (npm run test:reliability:full). Each scenario writes its figures to
 * test-artifacts/reliability-<name>.json.
 */
const FULL = process.env.WA_BULK_FULL === '1';
/** Per scenario: the full sizes run for minutes. */
const TIMEOUT = FULL ? 20 * 60_000 : 60_000;
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

let h: Harness | undefined;
let sim: Simulator | undefined;
const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await sim?.stop();
  await h?.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  h = sim = undefined;
});

function record(name: string, figures: Record<string, unknown>): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(
    join(ARTIFACTS, `reliability-${name}.json`),
    `${JSON.stringify({ scenario: name, full: FULL, ...figures }, null, 2)}\n`,
  );
}

function campaignFile(count: number, prefix: string): string {
  return tempFile(
    jsonl(
      Array.from({ length: count }, (_, i) => ({
        to: phone(i),
        body: i % 3 ? BODIES.text : BODIES.template,
        request_id: `${prefix}-${i}`,
      })),
    ),
  );
}

/** lost: in the campaign but neither sent nor dead; duplicated: accepted more than once by the API. */
async function outcome(harnessed: Harness, campaign: string, simulator: Simulator) {
  const records = await collect(harnessed.ledger.export(campaign));
  const dead = records.filter((r) => r.status === 'dead');
  return {
    messages: records.length,
    sent: records.filter((r) => r.status === 'sent').length,
    lost: records.filter((r) => r.status === 'pending').length,
    duplicated: simulator.getStats().duplicates,
    dead: dead.length,
    unknown: dead.filter((r) => r.error?.reason === 'unknown_outcome').length,
    requests: simulator.getStats().requests,
  };
}

describe('reliability scenarios', () => {
  it(
    'provider outage: nothing dead-lettered, everything sent once, few requests during the outage',
    async () => {
      const count = FULL ? 5000 : 1000;
      const outageMs = FULL ? 30_000 : 6000;
      sim = await startSimulator();
      let outage = false;
      let duringOutage = 0;
      sim.setOverride(() => {
        if (!outage) return undefined;
        duringOutage++;
        return Math.random() < 0.5 ? 'html503' : 'error1000';
      });
      const config = testConfig({
        ENGAGELAB_BASE_URL: sim.url,
        SEND_ATTEMPTS: 2,
        RETRY_RETRIES: 3,
        SEND_RATE_MAX: 200,
        WORKER_CONCURRENCY: 50,
        LOG_LEVEL: 'info',
      });
      h = harness(config);
      await runCli(['enqueue', campaignFile(count, 'out'), '--campaign', 'outage'], envOf(config));
      const worker = await startCli(['worker'], envOf(config));
      children.push(worker.child);
      const harnessed = h;
      while (((await harnessed.ledger.campaign('outage'))?.sent ?? 0) < count / 3) await sleep(50);
      outage = true;
      await sleep(outageMs);
      outage = false;
      await campaignDone(h.ledger, 'outage', 120_000);
      const figures = {
        ...(await outcome(h, 'outage', sim)),
        outage_ms: outageMs,
        requests_during_outage: duringOutage,
      };
      record('outage', figures);
      expect(figures).toMatchObject({ lost: 0, duplicated: 0, dead: 0, sent: count });
      expect(duringOutage).toBeLessThan(200);
    },
    TIMEOUT,
  );

  it(
    'slow provider: timeouts end as unknown_outcome by default, are sent with AMBIGUOUS_OUTCOME=resend, and can be replayed',
    async () => {
      const count = FULL ? 2000 : 400;
      // A slow answer takes 3 s, three times the HTTP timeout: a busy machine cannot turn one into an answer in time.
      sim = await startSimulator({ faults: { slow: 0.1 }, slowMs: 3000, seed: 11 });
      const config = testConfig({
        ENGAGELAB_BASE_URL: sim.url,
        HTTP_TIMEOUT_MS: 1000,
        WORKER_CONCURRENCY: 50,
        OUTAGE_THRESHOLD: 100_000,
      });
      h = harness(config);
      await runCli(['enqueue', campaignFile(count, 'slow'), '--campaign', 'slow'], envOf(config));
      const { startSendWorker } = await import('../../workers/send-worker.js');
      const { silentLogger } = await import('../helpers/env.js');
      let worker = await startSendWorker(config, silentLogger());
      await campaignDone(h.ledger, 'slow', 120_000);
      const byDefault = await outcome(h, 'slow', sim);
      expect(byDefault.lost).toBe(0);
      expect(byDefault.unknown).toBeGreaterThan(0);
      expect(byDefault.dead).toBe(byDefault.unknown);
      expect(byDefault.sent + byDefault.unknown).toBe(count);

      // Replay the unknown outcomes (the operator accepts possible duplicates for them), faults off; a worker
      // with the usual timeout sends them (on a busy machine a 1 s timeout can expire on a healthy answer).
      await worker.close();
      worker = await startSendWorker({ ...config, HTTP_TIMEOUT_MS: testConfig().HTTP_TIMEOUT_MS }, silentLogger());
      sim.setFaults({});
      const replay = await runCli(['dlq', 'replay', '--reason', 'unknown_outcome', '--json'], envOf(config));
      expect(JSON.parse(replay.stdout)).toEqual({
        action: 'replay',
        count: byDefault.unknown,
        left_out: 0,
        left_out_by: { unknown_outcome: 0, campaign_cancelled: 0 },
        already_sent: 0,
        malformed: 0,
      });
      await campaignDone(h.ledger, 'slow', 60_000);
      expect(await h.ledger.campaign('slow')).toMatchObject({ sent: count, dead: 0 });
      await worker.close();

      // The same load under AMBIGUOUS_OUTCOME=resend: nothing dead.
      sim.setFaults({ slow: 0.1 });
      const resend = testConfig({
        ENGAGELAB_BASE_URL: sim.url,
        HTTP_TIMEOUT_MS: 1000,
        WORKER_CONCURRENCY: 50,
        OUTAGE_THRESHOLD: 100_000,
        AMBIGUOUS_OUTCOME: 'resend',
        SEND_ATTEMPTS: 10,
        SEND_BACKOFF_MS: 20,
      });
      const h2 = harness(resend);
      cleanups.push(() => h2.close());
      await runCli(['enqueue', campaignFile(count, 'slow2'), '--campaign', 'slow2'], envOf(resend));
      worker = await startSendWorker(resend, silentLogger());
      await campaignDone(h2.ledger, 'slow2', 120_000);
      await worker.close();
      const withResend = await collect(h2.ledger.export('slow2'));
      expect(withResend.filter((r) => r.status === 'sent')).toHaveLength(count);
      record('slow-provider', {
        messages: count,
        default_policy: byDefault,
        resend_policy_sent: count,
        resend_policy_dead: 0,
      });
    },
    TIMEOUT,
  );

  it(
    'crash storm: five SIGKILLs; every message sent or dead, none accepted twice, unknown outcomes only from what was in flight',
    async () => {
      const count = FULL ? 3000 : 800;
      const concurrency = 20;
      sim = await startSimulator({ latencyMs: 50 });
      const config = testConfig({
        ENGAGELAB_BASE_URL: sim.url,
        WORKER_CONCURRENCY: concurrency,
        SEND_RATE_MAX: 300,
        LOG_LEVEL: 'info',
      });
      const crash = (h = harness(config));
      await runCli(['enqueue', campaignFile(count, 'crash'), '--campaign', 'crash'], envOf(config));
      // In flight = marked in the ledger as let through the gate with no outcome written yet. Read right
      // after each kill, before the next worker starts, so only the dead worker's requests are counted.
      const inFlight = new Set<string>();
      const readInFlight = async () => {
        for await (const record of crash.ledger.export('crash')) {
          if (
            record.status === 'pending' &&
            (await crash.redis.hexists(crash.keys.message(record.request_id), 'inflight')) === 1
          )
            inFlight.add(record.request_id);
        }
      };
      for (let kill = 0; kill < 5; kill++) {
        const worker = await startCli(['worker'], envOf(config));
        children.push(worker.child);
        await sleep(300 + Math.random() * 700);
        worker.child.kill('SIGKILL');
        await worker.exited;
        await readInFlight();
      }
      const last = await startCli(['worker'], envOf(config));
      children.push(last.child);
      await campaignDone(h.ledger, 'crash', 120_000);
      const records = await collect(h.ledger.export('crash'));
      const unknownIds = records.filter((r) => r.error?.reason === 'unknown_outcome').map((r) => r.request_id);
      const figures = { ...(await outcome(h, 'crash', sim)), kills: 5, in_flight_at_kills: inFlight.size };
      record('crash-storm', figures);
      expect(figures.lost).toBe(0);
      expect(figures.duplicated).toBe(0);
      expect(figures.sent + figures.dead).toBe(count);
      expect(figures.dead).toBe(figures.unknown);
      // Every unknown outcome was in flight when a worker died, and a worker has at most
      // WORKER_CONCURRENCY requests in flight.
      expect(unknownIds.filter((id) => !inFlight.has(id))).toEqual([]);
      expect(inFlight.size).toBeLessThanOrEqual(5 * concurrency);
    },
    TIMEOUT,
  );

  it(
    'Redis restart: workers and the dashboard reconnect, a running enqueue fails clearly, the campaign completes once',
    async () => {
      const count = FULL ? 5000 : 1500;
      const dir = mkdtempSync(join(tmpdir(), 'wa-bulk-aof-'));
      const aof = ['--appendonly', 'yes', '--appendfsync', 'everysec'];
      let server = await startRedisServer({ args: aof, dir });
      cleanups.push(async () => server.stop());
      sim = await startSimulator({ latencyMs: 10 });
      const config = testConfig({
        REDIS_URL: server.url,
        ENGAGELAB_BASE_URL: sim.url,
        SEND_RATE_MAX: 400,
        WORKER_CONCURRENCY: 30,
        LOG_LEVEL: 'info',
        DASHBOARD_PORT: 0,
      });
      await runCli(['enqueue', campaignFile(count, 'rr'), '--campaign', 'restart'], envOf(config));
      const worker = await startCli(['worker'], envOf(config));
      const dashboardPort = await (await import('../../src/dev/redis-server.js')).freePort();
      const dashboard = await startCli(
        ['dashboard'],
        { ...envOf(config), DASHBOARD_PORT: String(dashboardPort) },
        'dashboard listening',
      );
      children.push(worker.child, dashboard.child);
      const probe = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
      probe.on('error', () => {});
      cleanups.push(async () => probe.disconnect());
      while (Number((await probe.hget(`${config.QUEUE_PREFIX}:campaign:restart`, 'sent')) ?? 0) < count / 3)
        await sleep(50);

      // A second enqueue is running when Redis goes away.
      const second = runCli(
        ['enqueue', campaignFile(FULL ? 50_000 : 20_000, 'rr2'), '--campaign', 'restart-2'],
        envOf(config),
      );
      await sleep(200);
      await server.stop();
      await sleep(1000);
      server = await startRedisServer({ args: aof, dir, port: server.port });
      const enqueueResult = await second;
      // It either finished before the restart or stopped with one line naming the problem.
      if (enqueueResult.code !== 0)
        expect(enqueueResult.stderr).toMatch(/^wa-bulk: .*(Redis|redis|ECONNREFUSED|Connection is closed)/m);
      let healthy = false;
      for (let i = 0; i < 50 && !healthy; i++) {
        healthy = (await fetch(`http://127.0.0.1:${dashboardPort}/healthz`).catch(() => undefined))?.status === 200;
        if (!healthy) await sleep(200);
      }
      expect(healthy).toBe(true);

      const client = new Redis(server.url);
      cleanups.push(async () => client.disconnect());
      const { Ledger } = await import('../../src/ledger/ledger.js');
      const ledger = new Ledger(client, config.QUEUE_PREFIX, 1);
      await campaignDone(ledger, 'restart', 120_000);
      const records = await collect(ledger.export('restart'));
      const figures = {
        messages: count,
        sent: records.filter((r) => r.status === 'sent').length,
        lost: count - records.filter((r) => r.status !== 'pending').length,
        duplicated: sim.getStats().duplicates,
        dead: records.filter((r) => r.status === 'dead').length,
        unknown: records.filter((r) => r.error?.reason === 'unknown_outcome').length,
        second_enqueue_exit: enqueueResult.code,
        second_enqueue_message: enqueueResult.stderr.trim().split('\n').at(-1),
      };
      record('redis-restart', figures);
      expect(records).toHaveLength(count);
      expect(figures.lost).toBe(0);
      expect(figures.duplicated).toBe(0);
      expect(figures.sent + figures.unknown).toBe(count);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    },
    TIMEOUT,
  );

  it(
    'soak: the ledger matches the simulator and Redis memory stays bounded',
    async () => {
      const count = FULL ? 100_000 : 5000;
      sim = await startSimulator({ faults: { error1000: 0.005, html503: 0.005 }, seed: 5 });
      const config = testConfig({
        ENGAGELAB_BASE_URL: sim.url,
        SEND_RATE_MAX: 5000,
        WORKER_CONCURRENCY: 100,
        LOG_LEVEL: 'info',
        RETRY_RETRIES: 3,
        OUTAGE_THRESHOLD: 1000,
      });
      h = harness(config);
      const memoryBefore = Number(/used_memory:(\d+)/.exec(await h.redis.info('memory'))?.[1]);
      await runCli(['enqueue', campaignFile(count, 'soak'), '--campaign', 'soak'], envOf(config));
      const worker = await startCli(['worker'], envOf(config));
      children.push(worker.child);
      await campaignDone(h.ledger, 'soak', FULL ? 900_000 : 120_000);
      worker.child.kill('SIGTERM');
      await worker.exited;
      const figures = await outcome(h, 'soak', sim);
      const memoryAfter = Number(/used_memory:(\d+)/.exec(await h.redis.info('memory'))?.[1]);
      const jobsLeft = (await h.redis.keys(`${config.QUEUE_PREFIX}:send:*`)).filter(
        (k) => !/:(meta|events|id|stalled-check|marker)$/.test(k),
      ).length;
      const bytesPerEntry = Math.round((memoryAfter - memoryBefore) / count);
      record('soak', { ...figures, redis_bytes_per_message: bytesPerEntry, send_job_keys_left: jobsLeft });
      expect(figures).toMatchObject({ lost: 0, duplicated: 0, sent: count });
      expect(sim.getStats().accepted).toBe(count);
      expect(jobsLeft).toBe(0);
      expect(bytesPerEntry).toBeLessThan(1500);
    },
    TIMEOUT,
  );
});
