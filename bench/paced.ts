import { Redis } from 'ioredis';
import { Ledger } from '../src/ledger/ledger.js';
import {
  child,
  fill,
  sleep,
  startSimulator,
  workerEnv,
  type BenchContext,
  type SimulatorStats,
  type WorkerResult,
} from './harness.js';

/** A paced send: how many jobs, from which senders, how many worker processes, under which limits. */
export interface PacedSend {
  count: number;
  processes: number;
  /** The account's limit per second (SEND_RATE_MAX). */
  rate: number;
  /** Each sender's limit per second (SENDER_RATE_MAX); the account's when not given. */
  senderRate?: number;
  /** The `from` numbers the messages take in turn; none by default. */
  lanes?: string[];
  /** The rate the limits allow, for the deadline: three times the time it should take, and 30 s. */
  expectedPerSecond: number;
}

/**
 * `count` jobs sent by wa-bulk worker processes under rate limits; the simulator records arrivals. The workers
 * share the queue; the campaign is done when the ledger has nothing pending, then they are stopped with SIGTERM.
 * Resolves with each worker's figures (undefined where one did not report) and the simulator's.
 */
export async function sendPaced(
  bench: BenchContext,
  send: PacedSend,
): Promise<{ perWorker: (WorkerResult | undefined)[]; stats: SimulatorStats }> {
  const sim = await startSimulator(0, true);
  const prefix = bench.nextPrefix();
  await fill(bench, prefix, send.count, send.lanes);
  const childEnv = workerEnv(bench, {
    prefix,
    simulator: sim.url,
    concurrency: 100,
    rate: send.rate,
    senderRate: send.senderRate,
  });
  const workers = Array.from({ length: send.processes }, () =>
    child<WorkerResult>('worker-child.js', ['wa-bulk', String(send.count + 1)], childEnv),
  );
  for (const w of workers) w.result.catch(() => undefined);
  const deadline = Date.now() + (send.count / send.expectedPerSecond) * 3000 + 30_000;
  const client = new Redis(bench.redisUrl);
  const ledger = new Ledger(client, prefix, 1);
  while (((await ledger.campaign('bench'))?.pending ?? 1) > 0 && Date.now() < deadline) await sleep(100);
  client.disconnect();
  for (const w of workers) w.process.kill('SIGTERM');
  const perWorker = await Promise.all(workers.map((w) => w.result.catch(() => undefined)));
  const stats = await sim.stats();
  sim.stop();
  return { perWorker, stats };
}
