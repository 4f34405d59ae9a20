import { flushRedis, type BenchContext } from '../harness.js';
import { sendPaced } from '../paced.js';

/**
 * The rate limiter's precision: one, then two wa-bulk worker processes under one limit of `limit`/s, `count`
 * messages each time, measured at the simulator.
 */
export async function limiterStep(bench: BenchContext, limit: number, count: number) {
  const runs = [];
  for (const processes of [1, 2]) {
    const run = await measureLimiter(bench, limit, count, processes);
    runs.push(run);
    bench.log(
      `limiter   limit ${limit}/s, ${processes} worker${processes > 1 ? 's' : ''}: achieved ${run.steady_per_second}/s (${run.steady_ratio}) over the middle 80% of requests, ` +
        `${run.achieved_per_second}/s (${run.achieved_ratio}) first to last; busiest 1 s window ${run.max_in_any_window} (${run.max_ratio} x limit); ` +
        `worker CPU ${run.worker_cpu_ms_per_message.join(' / ')} ms/msg (${run.worker_cpu_system_share.map((x) => `${Math.round((x ?? 0) * 100)}%`).join(' / ')} in the kernel), late grants ${run.late_grants.join(' / ')}`,
    );
    await flushRedis(bench);
  }
  return runs;
}

/** wa-bulk worker processes under one limit; the simulator records arrivals. */
async function measureLimiter(bench: BenchContext, limit: number, count: number, processes: number) {
  const { perWorker, stats } = await sendPaced(bench, { count, processes, rate: limit, expectedPerSecond: limit });
  const achieved = ((stats.arrivals - 1) / (stats.last_ms - stats.first_ms)) * 1000;
  return {
    limit,
    workers: processes,
    requests: stats.arrivals,
    achieved_per_second: Math.round(achieved * 10) / 10,
    achieved_ratio: Number((achieved / limit).toFixed(3)),
    steady_per_second: Math.round(stats.steady_per_second * 10) / 10,
    steady_ratio: Number((stats.steady_per_second / limit).toFixed(3)),
    max_in_any_window: stats.max_in_window,
    max_ratio: Number((stats.max_in_window / limit).toFixed(3)),
    worker_cpu_ms_per_message: perWorker.map((w) => (w ? Number(w.cpuMsPerMessage.toFixed(2)) : null)),
    late_grants: perWorker.map((w) => w?.lateGrants ?? null),
    worker_cpu_system_share: perWorker.map((w) => (w ? Number(w.systemShare.toFixed(2)) : null)),
  };
}
