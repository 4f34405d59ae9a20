import {
  child,
  fill,
  flushRedis,
  redisInfo,
  sleep,
  startSimulator,
  UNLIMITED,
  workerEnv,
  type BenchContext,
  type WorkerResult,
} from '../harness.js';

/**
 * bare BullMQ, a naive axios peer, the wa-bulk worker and the same over axios's own Node http adapter,
 * each in its own process with `jobs` waiting jobs, at 0 and 100 ms latency: msgs/s and Redis's time per message.
 */
export async function workersStep(bench: BenchContext, jobs: number, concurrency: number) {
  bench.log(`workers   ${jobs.toLocaleString('en-US')} jobs each, concurrency ${concurrency}`);
  const workers: Record<string, Record<string, number>> = {};
  for (const latency of [0, 100]) {
    const row: Record<string, number> = {};
    for (const kind of ['bare', 'naive', 'wa-bulk', 'wa-bulk-node']) {
      const measured = await measureWorker(bench, kind, latency, jobs, concurrency);
      row[kind] = Math.round(measured.perSecond);
      row[`${kind}_redis_us_per_message`] = Math.round(measured.redisUsPerMessage);
      if (kind === 'wa-bulk') row.wa_bulk_redis_bytes_per_settled_message = Math.round(measured.bytesPerMessage);
      await flushRedis(bench);
    }
    row.ratio_redis_wa_bulk_to_bare = Number(
      ((row['wa-bulk_redis_us_per_message'] ?? 0) / (row['bare_redis_us_per_message'] || 1)).toFixed(2),
    );
    row.ratio_wa_bulk_to_naive = Number(((row['wa-bulk'] ?? 0) / (row.naive ?? 1)).toFixed(2));
    row.ratio_wa_bulk_node_to_naive = Number(((row['wa-bulk-node'] ?? 0) / (row.naive ?? 1)).toFixed(2));
    workers[`latency_${latency}ms`] = row;
    bench.log(
      `  wa-bulk / naive at ${latency} ms: ${row.ratio_wa_bulk_to_naive} (over axios's own adapter: ${row.ratio_wa_bulk_node_to_naive}); Redis time per message, wa-bulk / bare: ${row.ratio_redis_wa_bulk_to_bare}`,
    );
  }
  return workers;
}

async function measureWorker(
  bench: BenchContext,
  kind: string,
  latencyMs: number,
  jobs: number,
  concurrency: number,
): Promise<WorkerResult & { redisUsPerMessage: number; bytesPerMessage: number }> {
  const sim = await startSimulator(latencyMs);
  const prefix = bench.nextPrefix();
  const empty = await redisInfo(bench);
  await fill(bench, prefix, jobs);
  const filled = await redisInfo(bench);
  // wa-bulk-node: the same worker over axios's own Node http adapter (HTTP_TRANSPORT=node), for comparison.
  const { result } = child<WorkerResult>(
    'worker-child.js',
    [kind === 'wa-bulk-node' ? 'wa-bulk' : kind, String(jobs)],
    workerEnv(
      bench,
      { prefix, simulator: sim.url, concurrency, rate: UNLIMITED },
      { HTTP_TRANSPORT: kind === 'wa-bulk-node' ? 'node' : 'undici' },
    ),
  );
  const measured = await result;
  sim.stop();
  // Let a worker's last ledger writes land, and its pair-interval keys (PAIR_INTERVAL_MS, 6 s) expire, before
  // Redis is read: they are not kept per settled message.
  await sleep(kind.startsWith('wa-bulk') ? 6500 : 300);
  const done = await redisInfo(bench);
  // Redis's main thread per message while the worker ran (the fill, through the producer, is not counted), and
  // what is left in Redis per message once all are settled (the ledger: records, indexes, counters).
  const redisUsPerMessage = ((done.cpu - filled.cpu) / jobs) * 1e6;
  const bytesPerMessage = (done.memory - empty.memory) / jobs;
  bench.log(
    `  ${kind.padEnd(12)} ${String(latencyMs).padStart(3)} ms  ${Math.round(measured.perSecond).toLocaleString('en-US').padStart(7)} msgs/s  (rss ${Math.round(measured.maxRssMb)} MB, ${measured.cpuMsPerMessage.toFixed(2)} ms CPU/msg, ${Math.round(measured.systemShare * 100)}% of it in the kernel; Redis ${Math.round(redisUsPerMessage)} µs/msg${kind === 'wa-bulk' ? `, ${Math.round(bytesPerMessage)} B/msg left` : ''})`,
  );
  return { ...measured, redisUsPerMessage, bytesPerMessage };
}
