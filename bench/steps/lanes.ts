import { flushRedis, type BenchContext } from '../harness.js';
import { sendPaced } from '../paced.js';

/**
 * Sender lanes: four numbers at a quarter of `limit` each under `limit` as the account's cap, one worker process,
 * `count` messages; the account's and each lane's rate measured at the simulator.
 */
export async function lanesStep(bench: BenchContext, limit: number, count: number) {
  const laneCount = 4;
  const laneLimit = Math.round(limit / laneCount);
  const lanes = Array.from({ length: laneCount }, (_, i) => `861380013${String(8100 + i)}`);
  const { perWorker, stats } = await sendPaced(bench, {
    count,
    processes: 1,
    rate: limit,
    senderRate: laneLimit,
    lanes,
    expectedPerSecond: Math.min(limit, laneCount * laneLimit),
  });
  const measured = perWorker[0];
  const run = {
    lanes: laneCount,
    lane_limit: laneLimit,
    account_limit: limit,
    requests: stats.arrivals,
    account: { steady_per_second: Math.round(stats.steady_per_second), max_in_any_window: stats.max_in_window },
    per_lane: lanes.map((lane) => {
      const l = stats.by_from[lane];
      return {
        from: lane,
        requests: l?.arrivals ?? 0,
        steady_per_second: Math.round(l?.steady_per_second ?? 0),
        steady_ratio: Number(((l?.steady_per_second ?? 0) / laneLimit).toFixed(3)),
        max_in_any_window: l?.max_in_window ?? 0,
        max_ratio: Number(((l?.max_in_window ?? 0) / laneLimit).toFixed(3)),
      };
    }),
    worker_cpu_ms_per_message: measured ? Number(measured.cpuMsPerMessage.toFixed(2)) : null,
  };
  bench.log(
    `lanes     ${laneCount} lanes at ${laneLimit}/s under ${limit}/s, one worker: account ${run.account.steady_per_second}/s, busiest window ${run.account.max_in_any_window}; worker CPU ${run.worker_cpu_ms_per_message} ms/msg`,
  );
  for (const lane of run.per_lane)
    bench.log(
      `  ${lane.from}  ${lane.steady_per_second}/s (${lane.steady_ratio}) over the middle 80%, busiest 1 s window ${lane.max_in_any_window} (${lane.max_ratio} x)`,
    );
  await flushRedis(bench);
  return run;
}
