import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { enqueue } from '../producers/enqueue.js';
import { readJsonl } from '../producers/jsonl-reader.js';
import { loadConfig } from '../src/config.js';
import { Archiver, ArchiveStore } from '../src/ledger/index.js';
import { createLogger } from '../src/log.js';
import { Ledger } from '../src/ledger/ledger.js';
import { hasPostgres, startPostgresServer, type PostgresHandle } from '../src/dev/postgres-server.js';
import { keys } from '../src/redis/keys.js';
import { sendQueue } from '../src/queue.js';
import { freePort, startRedisServer } from '../src/dev/redis-server.js';

/**
 * npm run bench -- [--json] [--messages N] [--jobs N] [--concurrency N] [--limit N] [--million] [--small]
 *                    [--only enqueue,workers,limiter,lanes,archive]
 *
 * One run, one machine, one private Redis, the simulator in its own process:
 *  1. enqueue: N JSONL messages through the producer (parse, validate, request_id, dedupe, ledger + job): msgs/s, peak RSS
 *  2-4. bare BullMQ / naive axios peer / wa-bulk worker, each in its own process, at 0 and 100 ms latency
 *  6. rate limiter precision: one, then two wa-bulk worker processes under one limit, measured at the simulator
 *  7. sender lanes: four numbers at a quarter of the limit each under the limit as the account's cap
 *  8. the long-term ledger (a private PostgreSQL): enqueue and send without and with DATABASE_URL, Redis bytes
 *     per settled message after the hot TTL, the archive's lag at the limit, its catch-up after an outage
 */

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    messages: { type: 'string' },
    jobs: { type: 'string' },
    concurrency: { type: 'string' },
    million: { type: 'boolean' },
    small: { type: 'boolean' },
    only: { type: 'string' },
    limit: { type: 'string' },
  },
});
const small = values.small === true;
const messages = values.million ? 1_000_000 : Number(values.messages ?? (small ? 2000 : 100_000));
const jobs = Number(values.jobs ?? (small ? 1000 : 20_000));
const concurrency = Number(values.concurrency ?? 200);
const STEPS = ['enqueue', 'workers', 'limiter', 'lanes', 'archive'];
const steps = new Set((values.only ?? STEPS.join(',')).split(','));
for (const step of steps)
  if (!STEPS.includes(step)) throw new Error(`--only: unknown step "${step}" (${STEPS.join(', ')})`);
const limit = Number(values.limit ?? (small ? 200 : 1000));
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};

const redis = await startRedisServer();
const work = mkdtempSync(join(tmpdir(), 'wa-bulk-bench-'));
let prefixCounter = 0;
const KEY = 'bench_key';
const SECRET = 'bench_secret';

function env(extra: Record<string, string | number>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: redis.url,
    ENGAGELAB_DEV_KEY: KEY,
    ENGAGELAB_DEV_SECRET: SECRET,
    LOG_LEVEL: 'silent',
  };
  for (const [k, v] of Object.entries(extra)) out[k] = String(v);
  return out;
}

function child<T>(
  script: string,
  args: string[],
  childEnv: NodeJS.ProcessEnv,
): { process: ChildProcess; result: Promise<T> } {
  // WA_BULK_BENCH_PROFILE=<dir>: every measured child writes a V8 CPU profile there (open it in Chrome DevTools).
  const profileDir = process.env.WA_BULK_BENCH_PROFILE;
  const execArgv = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const proc = fork(here(script), args, { env: childEnv, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise<T>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { process: proc, result };
}

async function startSimulator(latencyMs: number, record = false): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const args = [
    'simulator',
    '--port',
    String(port),
    '--latency-ms',
    String(latencyMs),
    '--key',
    KEY,
    '--secret',
    SECRET,
    ...(record ? ['--record-arrivals'] : []),
  ];
  const proc = fork(here('../src/cli/main.js'), args, {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    proc.stderr?.on('data', (d: Buffer) => d.toString().includes('listening') && resolve());
    proc.once('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => proc.kill('SIGTERM') };
}

function message(i: number, from?: string) {
  return {
    ...(from !== undefined && { from }),
    to: `+4479${String(10_000_000 + i).padStart(8, '0')}`,
    body: {
      type: 'template',
      template: {
        name: 'order_update',
        language: 'en_GB',
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: `Customer ${i}` },
              { type: 'currency', currency: { fallback_value: '£12.50', code: 'GBP', amount_1000: 12500 } },
            ],
          },
        ],
      },
    },
    custom_args: { order: i },
  };
}

async function writeCampaign(count: number): Promise<string> {
  const path = join(work, `campaign-${count}.jsonl`);
  const out = createWriteStream(path);
  for (let i = 0; i < count; i++) {
    if (!out.write(`${JSON.stringify(message(i))}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return path;
}

/** Fills a fresh prefix with `count` jobs through the real producer (so wa-bulk's ledger has them too). */
async function fill(prefix: string, count: number, lanes: string[] = []): Promise<void> {
  const config = loadConfig({ env: env({ QUEUE_PREFIX: prefix }), dotEnvPath: false });
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  const queue = sendQueue(config, client);
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify(message(i, lanes.length > 0 ? lanes[i % lanes.length] : undefined)),
  ).join('\n');
  await enqueue(readJsonl(Readable.from([lines])), { campaign: 'bench', ledger: new Ledger(client, prefix, 1), queue });
  await queue.close();
  client.disconnect();
}

interface WorkerResult {
  kind: string;
  count: number;
  seconds: number;
  perSecond: number;
  maxRssMb: number;
  cpuMsPerMessage: number;
  systemShare: number;
  lateGrants?: number;
}

/** Redis's own figures: main-thread CPU seconds so far, and used memory in bytes. */
async function redisInfo(): Promise<{ cpu: number; memory: number }> {
  const client = new Redis(redis.url);
  const info = `${await client.info('cpu')}\n${await client.info('memory')}`;
  client.disconnect();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return { cpu: field('used_cpu_sys_main_thread') + field('used_cpu_user_main_thread'), memory: field('used_memory') };
}

async function measureWorker(
  kind: string,
  latencyMs: number,
): Promise<WorkerResult & { redisUsPerMessage: number; bytesPerMessage: number }> {
  const sim = await startSimulator(latencyMs);
  const prefix = `bench${++prefixCounter}`;
  const empty = await redisInfo();
  await fill(prefix, jobs);
  const filled = await redisInfo();
  // wa-bulk-node: the same worker over axios's own Node http adapter (HTTP_TRANSPORT=node), for comparison.
  const { result } = child<WorkerResult>(
    'worker-child.js',
    [kind === 'wa-bulk-node' ? 'wa-bulk' : kind, String(jobs)],
    env({
      HTTP_TRANSPORT: kind === 'wa-bulk-node' ? 'node' : 'undici',
      QUEUE_PREFIX: prefix,
      ENGAGELAB_BASE_URL: sim.url,
      WORKER_CONCURRENCY: concurrency,
      SEND_RATE_MAX: 100_000,
      SENDER_RATE_MAX: 100_000,
      SEND_RATE_DURATION_MS: 1000,
    }),
  );
  const measured = await result;
  sim.stop();
  // Let a worker's last ledger writes land, and its pair-interval keys (PAIR_INTERVAL_MS, 6 s) expire, before
  // Redis is read: they are not kept per settled message.
  await new Promise((r) => setTimeout(r, kind.startsWith('wa-bulk') ? 6500 : 300));
  const done = await redisInfo();
  // Redis's main thread per message while the worker ran (the fill, through the producer, is not counted), and
  // what is left in Redis per message once all are settled (the ledger: records, indexes, counters).
  const redisUsPerMessage = ((done.cpu - filled.cpu) / jobs) * 1e6;
  const bytesPerMessage = (done.memory - empty.memory) / jobs;
  log(
    `  ${kind.padEnd(12)} ${String(latencyMs).padStart(3)} ms  ${Math.round(measured.perSecond).toLocaleString('en-US').padStart(7)} msgs/s  (rss ${Math.round(measured.maxRssMb)} MB, ${measured.cpuMsPerMessage.toFixed(2)} ms CPU/msg, ${Math.round(measured.systemShare * 100)}% of it in the kernel; Redis ${Math.round(redisUsPerMessage)} µs/msg${kind === 'wa-bulk' ? `, ${Math.round(bytesPerMessage)} B/msg left` : ''})`,
  );
  return { ...measured, redisUsPerMessage, bytesPerMessage };
}

const report: Record<string, unknown> = {
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  sizes: { messages, jobs, concurrency },
};

async function flushRedis(): Promise<void> {
  const client = new Redis(redis.url);
  await client.flushall();
  client.disconnect();
}

/** wa-bulk worker processes under one limit; the simulator records arrivals. */
async function measureLimiter(limit: number, count: number, processes: number) {
  const sim = await startSimulator(0, true);
  const prefix = `bench${++prefixCounter}`;
  await fill(prefix, count);
  const childEnv = env({
    QUEUE_PREFIX: prefix,
    ENGAGELAB_BASE_URL: sim.url,
    WORKER_CONCURRENCY: 100,
    SEND_RATE_MAX: limit,
    SENDER_RATE_MAX: limit,
    SEND_RATE_DURATION_MS: 1000,
  });
  // The two workers share the queue; the campaign is done when the ledger has nothing pending.
  const workers = Array.from({ length: processes }, () =>
    child<WorkerResult>('worker-child.js', ['wa-bulk', String(count + 1)], childEnv),
  );
  const client = new Redis(redis.url);
  const ledger = new Ledger(client, prefix, 1);
  for (const w of workers) w.result.catch(() => undefined);
  const deadline = Date.now() + (count / limit) * 3000 + 30_000;
  while (((await ledger.campaign('bench'))?.pending ?? 1) > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  client.disconnect();
  for (const w of workers) w.process.kill('SIGTERM');
  const perWorker = await Promise.all(workers.map((w) => w.result.catch(() => undefined)));
  const stats = (await (await fetch(`${sim.url}/_simulator/stats?window_ms=1000`)).json()) as {
    arrivals: number;
    max_in_window: number;
    first_ms: number;
    last_ms: number;
    steady_per_second: number;
  };
  sim.stop();
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

/** Sender lanes: `lanes` numbers at `laneLimit`/s each under one account cap, one worker process. */
async function measureLanes(laneCount: number, laneLimit: number, accountLimit: number, count: number) {
  const sim = await startSimulator(0, true);
  const prefix = `bench${++prefixCounter}`;
  const lanes = Array.from({ length: laneCount }, (_, i) => `861380013${String(8100 + i)}`);
  await fill(prefix, count, lanes);
  const childEnv = env({
    QUEUE_PREFIX: prefix,
    ENGAGELAB_BASE_URL: sim.url,
    WORKER_CONCURRENCY: 100,
    SEND_RATE_MAX: accountLimit,
    SENDER_RATE_MAX: laneLimit,
    SEND_RATE_DURATION_MS: 1000,
  });
  const worker = child<WorkerResult>('worker-child.js', ['wa-bulk', String(count + 1)], childEnv);
  worker.result.catch(() => undefined);
  const client = new Redis(redis.url);
  const ledger = new Ledger(client, prefix, 1);
  const deadline = Date.now() + (count / Math.min(accountLimit, laneCount * laneLimit)) * 3000 + 30_000;
  while (((await ledger.campaign('bench'))?.pending ?? 1) > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  client.disconnect();
  worker.process.kill('SIGTERM');
  const measured = await worker.result.catch(() => undefined);
  const stats = (await (await fetch(`${sim.url}/_simulator/stats?window_ms=1000`)).json()) as {
    arrivals: number;
    max_in_window: number;
    steady_per_second: number;
    by_from: Record<string, { arrivals: number; max_in_window: number; steady_per_second: number }>;
  };
  sim.stop();
  return {
    lanes: laneCount,
    lane_limit: laneLimit,
    account_limit: accountLimit,
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/**
 * The long-term ledger, side by side with the Redis-only ledger in one run: enqueue and send rates
 * without and with DATABASE_URL, Redis bytes per settled message (after the hot TTL with a database), the
 * archive's lag behind sending at `limit`/s, and its rate catching up after PostgreSQL was away.
 */
async function measureArchive(pgServer: PostgresHandle, count: number, limit: number) {
  const hotTtl = 3;
  const client = new Redis(redis.url);
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
    const prefix = `bench${++prefixCounter}`;
    const empty = await redisInfo();
    const file = await writeCampaign(count);
    const enq = await child<{ perSecond: number }>(
      'enqueue-child.js',
      [file, 'bench'],
      env({ QUEUE_PREFIX: prefix, ...dbEnv }),
    ).result;
    rmSync(file);
    const sim = await startSimulator(0);
    const sent = await child<WorkerResult>(
      'worker-child.js',
      ['wa-bulk', String(count)],
      env({
        QUEUE_PREFIX: prefix,
        ENGAGELAB_BASE_URL: sim.url,
        WORKER_CONCURRENCY: concurrency,
        SEND_RATE_MAX: 100_000,
        SENDER_RATE_MAX: 100_000,
        SEND_RATE_DURATION_MS: 1000,
        ...dbEnv,
      }),
    ).result;
    sim.stop();
    // What the worker's archiver had not written when it stopped, then the hot TTL.
    if (withDb) await drainArchive(client, prefix, pgServer.url);
    const deadline = Date.now() + 60_000;
    if (withDb) while ((await perMessageKeys(client, prefix)) > 0 && Date.now() < deadline) await sleep(500);
    await sleep(6500); // pair-interval keys (PAIR_INTERVAL_MS) expire: they are not kept per settled message
    const done = await redisInfo();
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
    log(
      `  ${side.replaceAll('_', ' ').padEnd(28)} enqueue ${Math.round(enq.perSecond).toLocaleString('en-US')} msgs/s, send ${Math.round(sent.perSecond).toLocaleString('en-US')} msgs/s at 0 ms, Redis ${round.redis_bytes_per_settled_message} B per settled message${withDb ? ` after the hot TTL (${hotTtl} s)` : ''}`,
    );
    await flushRedis();
  }

  // At the limit, the same campaign without a database first, for the send rate side by side.
  const plain = `bench${++prefixCounter}`;
  await fill(plain, count);
  const simPlain = await startSimulator(0);
  const plainRun = await child<WorkerResult>(
    'worker-child.js',
    ['wa-bulk', String(count)],
    env({
      QUEUE_PREFIX: plain,
      ENGAGELAB_BASE_URL: simPlain.url,
      WORKER_CONCURRENCY: 100,
      SEND_RATE_MAX: limit,
      SENDER_RATE_MAX: limit,
      SEND_RATE_DURATION_MS: 1000,
    }),
  ).result;
  simPlain.stop();
  await flushRedis();

  // Lag: a worker sending at the limit while its archiver writes; the stream's length sampled every 100 ms.
  const prefix = `bench${++prefixCounter}`;
  await fill(prefix, count);
  const sim = await startSimulator(0);
  const worker = child<WorkerResult>(
    'worker-child.js',
    ['wa-bulk', String(count)],
    env({
      QUEUE_PREFIX: prefix,
      ENGAGELAB_BASE_URL: sim.url,
      WORKER_CONCURRENCY: 100,
      SEND_RATE_MAX: limit,
      SENDER_RATE_MAX: limit,
      SEND_RATE_DURATION_MS: 1000,
      DATABASE_URL: pgServer.url,
      HOT_TTL_SECONDS: 3600,
    }),
  );
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
  log(
    `  lag at ${limit}/s   sent ${lag.send_per_second}/s (${lag.send_per_second_without_database}/s without a database: ${lag.ratio_send}); changes waiting for PostgreSQL: median ${lag.backlog_median}, p99 ${lag.backlog_p99}, max ${lag.backlog_max} (≈ ${lag.lag_ms_median} / ${lag.lag_ms_max} ms of sending)`,
  );
  await flushRedis();

  // Catch-up: PostgreSQL away while a campaign is sent, then the archiver writes the backlog.
  const outage = `bench${++prefixCounter}`;
  await fill(outage, count);
  await pgServer.halt();
  const sim2 = await startSimulator(0);
  await child<WorkerResult>(
    'worker-child.js',
    ['wa-bulk', String(count)],
    env({
      QUEUE_PREFIX: outage,
      ENGAGELAB_BASE_URL: sim2.url,
      WORKER_CONCURRENCY: concurrency,
      SEND_RATE_MAX: 100_000,
      SENDER_RATE_MAX: 100_000,
      SEND_RATE_DURATION_MS: 1000,
      DATABASE_URL: pgServer.url,
      HOT_TTL_SECONDS: 3600,
    }),
  ).result;
  sim2.stop();
  await pgServer.start();
  const backlog = await client.xlen(keys(outage).archive);
  const seconds = await drainArchive(client, outage, pgServer.url);
  const catchUp = { backlog, seconds: Number(seconds.toFixed(2)), rows_per_second: Math.round(backlog / seconds) };
  log(
    `  catch-up        ${backlog.toLocaleString('en-US')} changes written to PostgreSQL in ${catchUp.seconds} s: ${catchUp.rows_per_second.toLocaleString('en-US')} rows/s`,
  );
  client.disconnect();
  await flushRedis();
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

log(`wa-bulk benchmark: ${cpus().length} cores, Node ${process.version}, private Redis at ${redis.url}`);
try {
  if (steps.has('enqueue')) {
    const file = await writeCampaign(messages);
    const enq = await child<{ accepted: number; seconds: number; perSecond: number; maxRssMb: number }>(
      'enqueue-child.js',
      [file, 'bench'],
      env({ QUEUE_PREFIX: `bench${++prefixCounter}` }),
    ).result;
    report.enqueue = {
      messages,
      accepted: enq.accepted,
      per_second: Math.round(enq.perSecond),
      seconds: Number(enq.seconds.toFixed(2)),
      peak_rss_mb: Math.round(enq.maxRssMb),
    };
    log(
      `enqueue   ${messages.toLocaleString('en-US')} messages: ${Math.round(enq.perSecond).toLocaleString('en-US')} msgs/s, peak RSS ${Math.round(enq.maxRssMb)} MB`,
    );
    rmSync(file);
    await flushRedis();
  }

  if (steps.has('workers')) {
    log(`workers   ${jobs.toLocaleString('en-US')} jobs each, concurrency ${concurrency}`);
    const workers: Record<string, Record<string, number>> = {};
    for (const latency of [0, 100]) {
      const row: Record<string, number> = {};
      for (const kind of ['bare', 'naive', 'wa-bulk', 'wa-bulk-node']) {
        const measured = await measureWorker(kind, latency);
        row[kind] = Math.round(measured.perSecond);
        row[`${kind}_redis_us_per_message`] = Math.round(measured.redisUsPerMessage);
        if (kind === 'wa-bulk') row.wa_bulk_redis_bytes_per_settled_message = Math.round(measured.bytesPerMessage);
        await flushRedis();
      }
      row.ratio_redis_wa_bulk_to_bare = Number(
        ((row['wa-bulk_redis_us_per_message'] ?? 0) / (row['bare_redis_us_per_message'] || 1)).toFixed(2),
      );
      row.ratio_wa_bulk_to_naive = Number(((row['wa-bulk'] ?? 0) / (row.naive ?? 1)).toFixed(2));
      row.ratio_wa_bulk_node_to_naive = Number(((row['wa-bulk-node'] ?? 0) / (row.naive ?? 1)).toFixed(2));
      workers[`latency_${latency}ms`] = row;
      log(
        `  wa-bulk / naive at ${latency} ms: ${row.ratio_wa_bulk_to_naive} (over axios's own adapter: ${row.ratio_wa_bulk_node_to_naive}); Redis time per message, wa-bulk / bare: ${row.ratio_redis_wa_bulk_to_bare}`,
      );
    }
    report.workers = workers;
  }

  if (steps.has('limiter')) {
    const runs = [];
    for (const processes of [1, 2]) {
      const run = await measureLimiter(limit, small ? 1000 : 20_000, processes);
      runs.push(run);
      log(
        `limiter   limit ${limit}/s, ${processes} worker${processes > 1 ? 's' : ''}: achieved ${run.steady_per_second}/s (${run.steady_ratio}) over the middle 80% of requests, ` +
          `${run.achieved_per_second}/s (${run.achieved_ratio}) first to last; busiest 1 s window ${run.max_in_any_window} (${run.max_ratio} x limit); ` +
          `worker CPU ${run.worker_cpu_ms_per_message.join(' / ')} ms/msg (${run.worker_cpu_system_share.map((x) => `${Math.round((x ?? 0) * 100)}%`).join(' / ')} in the kernel), late grants ${run.late_grants.join(' / ')}`,
      );
      await flushRedis();
    }
    report.rate_limiter = runs;
  }

  if (steps.has('lanes')) {
    const laneLimit = Math.round(limit / 4);
    const run = await measureLanes(4, laneLimit, limit, small ? 1000 : 20_000);
    report.lanes = run;
    log(
      `lanes     4 lanes at ${laneLimit}/s under ${limit}/s, one worker: account ${run.account.steady_per_second}/s, busiest window ${run.account.max_in_any_window}; worker CPU ${run.worker_cpu_ms_per_message} ms/msg`,
    );
    for (const lane of run.per_lane)
      log(
        `  ${lane.from}  ${lane.steady_per_second}/s (${lane.steady_ratio}) over the middle 80%, busiest 1 s window ${lane.max_in_any_window} (${lane.max_ratio} x)`,
      );
    await flushRedis();
  }

  if (steps.has('archive')) {
    if (!hasPostgres()) log('archive   skipped: no PostgreSQL binaries (apt-get install -y postgresql)');
    else {
      log(`archive   the long-term ledger (PostgreSQL), ${jobs.toLocaleString('en-US')} messages each`);
      const pgServer = await startPostgresServer();
      try {
        const run = await measureArchive(pgServer, jobs, limit);
        report.archive = run;
        log(
          `  with / without DATABASE_URL (the better of two rounds each): enqueue ${run.ratio_enqueue}, send ${run.ratio_send} (${run.ratio_send_archiver_apart} with the archiver in another process)`,
        );
      } finally {
        await pgServer.stop();
      }
    }
  }
} finally {
  await redis.stop();
  rmSync(work, { recursive: true, force: true });
}
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
