import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { hasPostgres } from '../../src/dev/postgres-server.js';

/** Keeps `npm run bench` from rotting: the small size runs end to end and prints its JSON report. */
describe('the benchmark', () => {
  it('runs every step at the small size and reports each figure', async () => {
    const script = fileURLToPath(new URL('../../dist/bench/bench.js', import.meta.url));
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [script, '--small', '--json'], {
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`bench exited with ${code}`))));
    });
    const report = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(report.enqueue).toMatchObject({
      messages: 2000,
      accepted: 2000,
      per_second: expect.any(Number),
      peak_rss_mb: expect.any(Number),
    });
    for (const latency of ['latency_0ms', 'latency_100ms']) {
      expect(report.workers[latency]).toEqual({
        bare: expect.any(Number),
        naive: expect.any(Number),
        'wa-bulk': expect.any(Number),
        'wa-bulk-node': expect.any(Number),
        ratio_wa_bulk_to_naive: expect.any(Number),
        ratio_wa_bulk_node_to_naive: expect.any(Number),
        bare_redis_us_per_message: expect.any(Number),
        naive_redis_us_per_message: expect.any(Number),
        'wa-bulk_redis_us_per_message': expect.any(Number),
        'wa-bulk-node_redis_us_per_message': expect.any(Number),
        ratio_redis_wa_bulk_to_bare: expect.any(Number),
        wa_bulk_redis_bytes_per_settled_message: expect.any(Number),
      });
      expect(report.workers[latency].wa_bulk_redis_bytes_per_settled_message).toBeGreaterThan(0);
      expect(report.workers[latency]['wa-bulk']).toBeGreaterThan(0);
    }
    const run = {
      limit: 200,
      requests: 1000,
      max_in_any_window: expect.any(Number),
      achieved_ratio: expect.any(Number),
      steady_ratio: expect.any(Number),
    };
    expect(report.rate_limiter).toEqual([
      expect.objectContaining({ ...run, workers: 1 }),
      expect.objectContaining({ ...run, workers: 2 }),
    ]);
    expect(report.callbacks).toMatchObject({
      messages: 1000,
      rows: 3000,
      refused_posts: 0,
      read_at_end: 1000,
      rows_per_second_applied: expect.any(Number),
      answer_ms: { p50: expect.any(Number), p95: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) },
    });
    expect(report.webhooks).toMatchObject({
      messages: 1000,
      // sent, delivered and read of each message, and campaign.started.
      events: 3001,
      feed_bytes_per_entry: expect.any(Number),
      events_per_second_one_a_request: expect.any(Number),
      events_per_second_batched: expect.any(Number),
      events_per_second_beside_slow_endpoint: expect.any(Number),
      slow_endpoint_events_meanwhile: expect.any(Number),
    });
    expect(report.webhooks.feed_bytes_per_entry).toBeGreaterThan(0);
    expect(report.lanes).toMatchObject({ lanes: 4, lane_limit: 50, account_limit: 200, requests: 1000 });
    expect(report.realistic).toMatchObject({ latency_ms: 20, in_flight: 100, ceiling: 5000, lanes: 4, jobs: 1000 });
    expect(report.realistic.rounds).toHaveLength(1);
    const bare = {
      per_second: expect.any(Number),
      cpu_ms_per_message: expect.any(Number),
      redis_us_per_message: expect.any(Number),
      redis_calls_per_message: expect.any(Number),
      redis_commands: expect.any(Array),
    };
    // The ceiling (in flight ÷ latency) beside each sender's rate; bare BullMQ sends nothing.
    const kind = { ...bare, of_ceiling: expect.any(Number) };
    const [round] = report.realistic.rounds;
    expect(round).toMatchObject({
      naive: kind,
      bare,
      'wa-bulk': {
        ...kind,
        redis_bytes_per_settled_message: expect.any(Number),
        late_grants: expect.any(Number),
        regranted_grants: expect.any(Number),
      },
      ratio_wa_bulk_to_naive: expect.any(Number),
      ratio_cpu_wa_bulk_to_naive: expect.any(Number),
      ratio_redis_wa_bulk_to_bare: expect.any(Number),
    });
    expect(round.bare.of_ceiling).toBeUndefined();
    expect(round['wa-bulk'].redis_bytes_per_settled_message).toBeGreaterThan(0);
    for (const name of ['naive', 'bare', 'wa-bulk']) expect(round[name].per_second).toBeGreaterThan(0);
    for (const run of ['bare_latency_0ms', 'wa-bulk_latency_0ms', 'bare_latency_20ms', 'wa-bulk_latency_20ms']) {
      const { top, inside } = report.realistic.breakdown[run];
      // Every kind finishes its jobs with BullMQ's script, so the slow log has named it.
      expect(top.map((t: { name: string }) => t.name)).toContain('bullmq:moveToFinished');
      expect(inside['bullmq:moveToFinished'].length).toBeGreaterThan(0);
    }
    // wa-bulk's own scripts are found by name, not left as an unknown SHA1.
    expect(report.realistic.breakdown['wa-bulk_latency_20ms'].top.map((t: { name: string }) => t.name)).toContain(
      'waGrantSends',
    );
    expect(report.lanes.per_lane).toHaveLength(4);
    if (hasPostgres()) {
      const side = {
        enqueue_per_second: expect.any(Number),
        send_per_second: expect.any(Number),
        redis_bytes_per_settled_message: expect.any(Number),
      };
      expect(report.archive).toMatchObject({
        without_database: side,
        with_database: side,
        ratio_enqueue: expect.any(Number),
        ratio_send: expect.any(Number),
      });
      expect(report.archive.lag_at_limit).toMatchObject({
        limit: 200,
        backlog_max: expect.any(Number),
        lag_ms_max: expect.any(Number),
      });
      // Everything sent while PostgreSQL was away was waiting in Redis and then written.
      expect(report.archive.catch_up.backlog).toBeGreaterThanOrEqual(1000);
      expect(report.archive.catch_up.rows_per_second).toBeGreaterThan(0);
    }
  }, 360_000);
});
