import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { Archiver } from '../../src/archive/archiver.js';
import { ArchiveStore } from '../../src/archive/store.js';
import { createLogger } from '../../src/log.js';
import { hasPostgres, startPostgresServer, type PostgresHandle } from '../../src/dev/postgres-server.js';
import { keys } from '../../src/redis/keys.js';
import {
  child,
  env,
  fill,
  flushRedis,
  redisInfo,
  sleep,
  startSimulator,
  UNLIMITED,
  workerEnv,
  writeCampaign,
  type BenchContext,
  type WorkerResult,
} from '../harness.js';

/**
 * The long-term ledger (a private PostgreSQL), `count` messages each time; skipped (undefined) without the
 * PostgreSQL binaries.
 */
export async function archiveStep(bench: BenchContext, count: number, concurrency: number, limit: number) {
  if (!hasPostgres()) {
    bench.log('archive   skipped: no PostgreSQL binaries (apt-get install -y postgresql)');
    return undefined;
  }
  bench.log(`archive   the long-term ledger (PostgreSQL), ${count.toLocaleString('en-US')} messages each`);
  const pgServer = await startPostgresServer();
  try {
    const run = await measureArchive(bench, pgServer, count, concurrency, limit);
    bench.log(
      `  with / without DATABASE_URL (the better of two rounds each): enqueue ${run.ratio_enqueue}, send ${run.ratio_send} (${run.ratio_send_archiver_apart} with the archiver in another process)`,
    );
    return run;
  } finally {
    await pgServer.stop();
  }
}

/**
 * The long-term ledger, side by side with the Redis-only ledger in one run: enqueue and send rates
 * without and with DATABASE_URL, Redis bytes per settled message (after the hot TTL with a database), the
 * archive's lag behind sending at `limit`/s, and its rate catching up after PostgreSQL was away.
 */
async function measureArchive(
  bench: BenchContext,
  pgServer: PostgresHandle,
  count: number,
  concurrency: number,
  limit: number,
) {
  const client = new Redis(bench.redisUrl);
  const sides = await compareSides(bench, client, pgServer, count, concurrency);
  const lag = await lagAtLimit(bench, client, pgServer, count, limit);
  const catchUp = await catchUpAfterOutage(bench, client, pgServer, count, concurrency);
  client.disconnect();
  await flushRedis(bench);
  const w = sides.without_database ?? {};
  const d = sides.with_database ?? {};
  return {
    ...sides,
    ratio_enqueue: Number(((d.enqueue_per_second ?? 0) / (w.enqueue_per_second || 1)).toFixed(2)),
    ratio_send: Number(((d.send_per_second ?? 0) / (w.send_per_second || 1)).toFixed(2)),
    ratio_send_archiver_apart: Number(
      ((sides.with_database_archiver_apart?.send_per_second ?? 0) / (w.send_per_second || 1)).toFixed(2),
    ),
    lag_at_limit: { limit, ...lag },
    catch_up: catchUp,
  };
}

/** Enqueue and send rates and Redis bytes per settled message, without and with DATABASE_URL. */
async function compareSides(
  bench: BenchContext,
  client: Redis,
  pgServer: PostgresHandle,
  count: number,
  concurrency: number,
) {
  const hotTtl = 3;
  const sides: Record<string, Record<string, number>> = {};
  // with_database_archiver_apart: the worker does not drain the archive (ARCHIVER=off); another process does.
  // Two rounds, the sides interleaved, and each side's better round kept: on a shared machine one round of
  // each is within the noise of the 5% being looked for.
  const SIDES = ['without_database', 'with_database', 'with_database_archiver_apart'];
  for (const side of [...SIDES, ...SIDES]) {
    const withDb = side !== 'without_database';
    const dbEnv: Record<string, string | number> = withDb
      ? { DATABASE_URL: pgServer.url, HOT_TTL_SECONDS: hotTtl, ARCHIVER: side === 'with_database' ? 'on' : 'off' }
      : {};
    const prefix = bench.nextPrefix();
    const empty = await redisInfo(bench);
    const file = await writeCampaign(bench, count);
    const enq = await child<{ perSecond: number }>(
      'enqueue-child.js',
      [file, 'bench'],
      env(bench, { QUEUE_PREFIX: prefix, ...dbEnv }),
    ).result;
    rmSync(file);
    const sim = await startSimulator(0);
    const sent = await child<WorkerResult>(
      'worker-child.js',
      ['wa-bulk', String(count)],
      workerEnv(bench, { prefix, simulator: sim.url, concurrency, rate: UNLIMITED }, dbEnv),
    ).result;
    sim.stop();
    // What the worker's archiver had not written when it stopped, then the hot TTL.
    if (withDb) await drainArchive(client, prefix, pgServer.url);
    const deadline = Date.now() + 60_000;
    if (withDb) while ((await perMessageKeys(client, prefix)) > 0 && Date.now() < deadline) await sleep(500);
    await sleep(6500); // pair-interval keys (PAIR_INTERVAL_MS) expire: they are not kept per settled message
    const done = await redisInfo(bench);
    const round = {
      enqueue_per_second: Math.round(enq.perSecond),
      send_per_second: Math.round(sent.perSecond),
      redis_bytes_per_settled_message: Math.round((done.memory - empty.memory) / count),
    };
    const best = sides[side];
    sides[side] = best
      ? {
          enqueue_per_second: Math.max(best.enqueue_per_second ?? 0, round.enqueue_per_second),
          send_per_second: Math.max(best.send_per_second ?? 0, round.send_per_second),
          redis_bytes_per_settled_message: Math.max(
            best.redis_bytes_per_settled_message ?? 0,
            round.redis_bytes_per_settled_message,
          ),
        }
      : round;
    bench.log(
      `  ${side.replaceAll('_', ' ').padEnd(28)} enqueue ${Math.round(enq.perSecond).toLocaleString('en-US')} msgs/s, send ${Math.round(sent.perSecond).toLocaleString('en-US')} msgs/s at 0 ms, Redis ${round.redis_bytes_per_settled_message} B per settled message${withDb ? ` after the hot TTL (${hotTtl} s)` : ''}`,
    );
    await flushRedis(bench);
  }
  return sides;
}

/**
 * A fresh prefix filled with `count` jobs (then `afterFill`), sent by one wa-bulk worker child against a
 * simulator of its own; `extra` is added to the worker's environment.
 */
async function sendCampaign(
  bench: BenchContext,
  count: number,
  send: { concurrency: number; rate: number; extra?: Record<string, string | number>; afterFill?: () => Promise<void> },
) {
  const prefix = bench.nextPrefix();
  await fill(bench, prefix, count);
  await send.afterFill?.();
  const sim = await startSimulator(0);
  const worker = child<WorkerResult>(
    'worker-child.js',
    ['wa-bulk', String(count)],
    workerEnv(bench, { prefix, simulator: sim.url, concurrency: send.concurrency, rate: send.rate }, send.extra),
  );
  return { prefix, sim, worker };
}

/** The archive's backlog while a worker sends at the limit, beside the same send without a database. */
async function lagAtLimit(bench: BenchContext, client: Redis, pgServer: PostgresHandle, count: number, limit: number) {
  // At the limit, the same campaign without a database first, for the send rate side by side.
  const plain = await sendCampaign(bench, count, { concurrency: 100, rate: limit });
  const plainRun = await plain.worker.result;
  plain.sim.stop();
  await flushRedis(bench);

  // Lag: a worker sending at the limit while its archiver writes; the stream's length sampled every 100 ms.
  const { prefix, sim, worker } = await sendCampaign(bench, count, {
    concurrency: 100,
    rate: limit,
    extra: { DATABASE_URL: pgServer.url, HOT_TTL_SECONDS: 3600 },
  });
  let running = true;
  void worker.result.finally(() => (running = false)).catch(() => undefined);
  const samples: number[] = [];
  while (running) {
    samples.push(await client.xlen(keys(prefix).archive));
    await sleep(100);
  }
  const lagRun = await worker.result;
  sim.stop();
  await drainArchive(client, prefix, pgServer.url);
  const sorted = [...samples].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const lag = {
    send_per_second_without_database: Math.round(plainRun.perSecond),
    send_per_second: Math.round(lagRun.perSecond),
    ratio_send: Number((lagRun.perSecond / plainRun.perSecond).toFixed(3)),
    backlog_median: p(0.5),
    backlog_p99: p(0.99),
    backlog_max: sorted.at(-1) ?? 0,
    lag_ms_median: Math.round((p(0.5) / limit) * 1000),
    lag_ms_max: Math.round(((sorted.at(-1) ?? 0) / limit) * 1000),
  };
  bench.log(
    `  lag at ${limit}/s   sent ${lag.send_per_second}/s (${lag.send_per_second_without_database}/s without a database: ${lag.ratio_send}); changes waiting for PostgreSQL: median ${lag.backlog_median}, p99 ${lag.backlog_p99}, max ${lag.backlog_max} (≈ ${lag.lag_ms_median} / ${lag.lag_ms_max} ms of sending)`,
  );
  await flushRedis(bench);
  return lag;
}

/** PostgreSQL away while a campaign is sent, then the archiver writes the backlog: its rows/s. */
async function catchUpAfterOutage(
  bench: BenchContext,
  client: Redis,
  pgServer: PostgresHandle,
  count: number,
  concurrency: number,
) {
  const outage = await sendCampaign(bench, count, {
    concurrency,
    rate: UNLIMITED,
    extra: { DATABASE_URL: pgServer.url, HOT_TTL_SECONDS: 3600 },
    afterFill: () => pgServer.halt(),
  });
  await outage.worker.result;
  outage.sim.stop();
  await pgServer.start();
  const backlog = await client.xlen(keys(outage.prefix).archive);
  const seconds = await drainArchive(client, outage.prefix, pgServer.url);
  const catchUp = { backlog, seconds: Number(seconds.toFixed(2)), rows_per_second: Math.round(backlog / seconds) };
  bench.log(
    `  catch-up        ${backlog.toLocaleString('en-US')} changes written to PostgreSQL in ${catchUp.seconds} s: ${catchUp.rows_per_second.toLocaleString('en-US')} rows/s`,
  );
  return catchUp;
}

/** Per-message keys (records, message_id entries) left under a prefix. */
async function perMessageKeys(client: Redis, prefix: string): Promise<number> {
  let n = 0;
  for (const pattern of [`${prefix}:msg:*`, `${prefix}:mid:*`]) {
    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
      cursor = next;
      n += found.length;
    } while (cursor !== '0');
  }
  return n;
}

/** Drains a prefix's archive stream in this process; resolves with the seconds it took. */
async function drainArchive(client: Redis, prefix: string, pgUrl: string): Promise<number> {
  const store = new ArchiveStore(pgUrl, prefix);
  const archiver = new Archiver(
    client,
    client.duplicate(),
    keys(prefix).archive,
    store,
    createLogger({ level: 'silent', pretty: false }),
    { claimIdleMs: 1000 },
  );
  const started = performance.now();
  archiver.start();
  while ((await client.xlen(keys(prefix).archive)) > 0) await sleep(20);
  const seconds = (performance.now() - started) / 1000;
  await archiver.stop();
  await store.close();
  return seconds;
}
