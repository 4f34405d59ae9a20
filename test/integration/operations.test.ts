import { describe, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort, startRedisServer } from '../../src/dev/redis-server.js';
import { redisClient } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, tempFile, testConfig, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** Long-running processes (the real CLI) when Redis goes away and comes back, and when they are stopped. */

const stack = useStack();

const STACK_LINE = /^\s+at /m;
const logLines = (output: string, message: string) =>
  output.split('\n').filter((line) => line.includes(`"msg":"${message}`)).length;

/** Waits for a child to exit; resolves with its code and how long it took, or null after `ms`. */
function exitWithin(child: ChildProcess, ms: number): Promise<{ code: number | null; ms: number } | null> {
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started });
    });
  });
}

describe('a long-running process and its Redis', () => {
  it('worker and dashboard log one line when Redis goes, one when it is back, report it in /healthz and /metrics, and send again', async () => {
    const port = await freePort();
    let redis = await startRedisServer({ port });
    // The test stops and starts its Redis: the one running at the end is stopped, after the test's handles.
    stack.deferLast(() => redis.stop());
    const sim = await stack.startSimulator();
    const config = testConfig({
      REDIS_URL: redis.url,
      ENGAGELAB_BASE_URL: sim.url,
      DASHBOARD_PORT: await freePort(),
      LOG_LEVEL: 'info',
    });
    const env = envOf(config);
    const worker = await stack.startCli(['worker'], env);
    const dashboard = await stack.startCli(['dashboard'], env, 'dashboard listening');
    const url = `http://127.0.0.1:${config.DASHBOARD_PORT}`;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    await redis.stop();
    await until(async () => (await fetch(`${url}/healthz`)).status === 503, 10_000);
    // The public answer says down and nothing more; the details (Redis's address in the error) need access.
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'unavailable' });
    const down = (await (await fetch(`${url}/api/health`)).json()) as {
      redis: { connected: boolean; down_since: string | null };
    };
    expect(down.redis).toMatchObject({ connected: false, down_since: expect.any(String) });
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^wa_bulk_redis_up 0$/m);
    const api = await fetch(`${url}/api/campaigns/spring`);
    expect(api.status).toBe(503);
    expect(await api.json()).toEqual({ error: 'Redis is unreachable; try again shortly' });
    // Several seconds of reconnect attempts (ioredis backs off up to 5 s between them).
    await new Promise((r) => setTimeout(r, 4000));

    redis = await startRedisServer({ port });
    await until(
      () =>
        logLines(worker.output(), 'Redis connection back') === 1 &&
        logLines(dashboard.output(), 'Redis connection back') === 1,
      20_000,
    );
    for (const output of [worker.output(), dashboard.output()]) {
      expect(logLines(output, 'Redis connection lost')).toBe(1);
      expect(output).not.toMatch(STACK_LINE);
      expect(output).not.toMatch(/"msg":"(worker|send queue|dead-letter queue|callback worker|callback queue) error"/);
    }
    await until(async () => (await fetch(`${url}/healthz`)).status === 200, 10_000);
    expect(await (await fetch(`${url}/metrics`)).text()).toMatch(/^wa_bulk_redis_up 1$/m);

    // The worker sends again, and the fleet counted its two lost connections (the worker's and the dashboard's).
    const h = stack.harness(config);
    await runCli(
      ['enqueue', tempFile(jsonl([{ to: phone(1), body: BODIES.text, request_id: 'after-1' }])), '--campaign', 'after'],
      env,
    );
    await campaignDone(h.ledger, 'after', 20_000);
    await until(
      async () => /^wa_bulk_redis_disconnects_total 2$/m.test(await (await fetch(`${url}/metrics`)).text()),
      10_000,
    );
  });

  it('/healthz answers 503 with Retry-After when Redis is connected but does not answer, instead of waiting for it', async () => {
    const redis = await startRedisServer({ port: await freePort() });
    stack.deferLast(() => redis.stop());
    const config = testConfig({ REDIS_URL: redis.url, DASHBOARD_PORT: await freePort() });
    stack.harness(config);
    const dashboard = await stack.startDashboard(config);
    expect((await fetch(`${dashboard.url}/healthz`)).status).toBe(200);

    const pauser = new Redis(redis.url);
    stack.defer(() => pauser.quit());
    // Longer than the health check waits: without its bound /healthz would answer 200 once the pause ends.
    await pauser.call('CLIENT', 'PAUSE', '4000', 'ALL');
    const paused = await fetch(`${dashboard.url}/healthz`);
    expect(paused.status).toBe(503);
    expect(paused.headers.get('retry-after')).toBe('5');
    expect(await paused.json()).toEqual({ status: 'unavailable' });
    await until(async () => (await fetch(`${dashboard.url}/healthz`)).status === 200, 10_000);
  });

  it('the dashboard with several sender lanes logs one JSON line when Redis goes, nothing raw from their queues', async () => {
    const port = await freePort();
    // A Redis of its own, stopped at the end with whatever it holds.
    const redis = await startRedisServer({ port });
    stack.deferLast(() => redis.stop());
    const config = testConfig({ REDIS_URL: redis.url, DASHBOARD_PORT: await freePort(), LOG_LEVEL: 'info' });
    const lanes = ['447911000001', '447911000002', '447911000003', '447911000004'];
    const client = redisClient(config);
    for (const lane of lanes) await client.hset(keys(config.QUEUE_PREFIX).lanes, lane, Date.now());
    client.disconnect();
    const dashboard = await stack.startCli(['dashboard'], envOf(config), 'dashboard listening');
    const url = `http://127.0.0.1:${config.DASHBOARD_PORT}`;
    // Bull Board shows every lane once the dashboard has opened their queues.
    await until(async () => {
      const res = await fetch(`${url}/queues/api/queues`);
      const body = (await res.json()) as { queues?: Array<{ name: string }> };
      return lanes.every((lane) => body.queues?.some((queue) => queue.name.endsWith(lane)));
    }, 10_000);

    const before = dashboard.output().length;
    await redis.stop();
    await until(() => logLines(dashboard.output(), 'Redis connection lost') === 1, 10_000);
    // A few reconnect attempts, each of which every lane's queue re-emits.
    await new Promise((r) => setTimeout(r, 3000));
    const lines = dashboard
      .output()
      .slice(before)
      .split('\n')
      .filter((line) => line.trim() !== '');
    const raw = lines.filter((line) => !line.startsWith('{'));
    expect(raw).toEqual([]);
    expect(logLines(dashboard.output(), 'Redis connection lost')).toBe(1);
    expect(dashboard.output()).not.toMatch(/"msg":"send queue error"/);
  });

  it('a clean SIGTERM stops the worker and the dashboard without saying Redis was lost', async () => {
    const config = testConfig({ DASHBOARD_PORT: await freePort(), LOG_LEVEL: 'info' });
    const h = stack.harness(config);
    // Many lanes, each a BullMQ worker waiting on its own connection: closing them while Redis was still
    // watched said "lost" in most runs.
    for (let lane = 0; lane < 40; lane++) await h.redis.hset(h.keys.lanes, `4479110000${10 + lane}`, Date.now());
    for (let run = 0; run < 4; run++) {
      const worker = await stack.startCli(['worker'], envOf(config));
      const dashboard = await stack.startCli(['dashboard'], envOf(config), 'metrics: http');
      // Answering a request, it is past its start and waits for a signal.
      expect((await fetch(`http://127.0.0.1:${config.DASHBOARD_PORT}/healthz`)).status).toBe(200);
      // A moment for the lanes' workers to wait for jobs (the close then interrupts their waits).
      await new Promise((r) => setTimeout(r, 1000));
      worker.child.kill('SIGTERM');
      dashboard.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(await dashboard.exited).toBe(0);
      expect(worker.output()).toContain('"msg":"worker stopped"');
      for (const output of [worker.output(), dashboard.output()])
        expect(logLines(output, 'Redis connection lost')).toBe(0);
    }
  });

  it('the dashboard and the worker stop at the first SIGTERM while Redis is unreachable', async () => {
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const config = testConfig({ REDIS_URL: unreachable, DASHBOARD_PORT: await freePort(), LOG_LEVEL: 'info' });
    const dashboard = await stack.startCli(['dashboard'], envOf(config), 'Redis connection lost');
    const worker = await stack.startCli(['worker'], envOf(config), 'Redis connection lost');
    await new Promise((r) => setTimeout(r, 1500));
    dashboard.child.kill('SIGTERM');
    worker.child.kill('SIGTERM');
    const [d, w] = await Promise.all([exitWithin(dashboard.child, 8000), exitWithin(worker.child, 8000)]);
    expect(d).not.toBeNull();
    expect(w).not.toBeNull();
    expect(d?.code).toBe(0);
    expect(w?.code).toBe(0);
    expect(dashboard.output()).not.toMatch(STACK_LINE);
    expect(logLines(dashboard.output(), 'Redis connection lost')).toBe(1);
  });

  it('the dashboard refuses a public address without a password at once, with one line and exit 2', async () => {
    const config = testConfig({ DASHBOARD_HOST: '0.0.0.0', DASHBOARD_PORT: await freePort() });
    const res = await runCli(['dashboard'], envOf(config));
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'wa-bulk: DASHBOARD_HOST: "0.0.0.0" is not a loopback address; set DASHBOARD_PASSWORD to serve the dashboard on other hosts\n',
    );
  });
});
