import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { Redis } from 'ioredis';
import { enqueue } from '../producers/enqueue.js';
import { readJsonl } from '../producers/jsonl-reader.js';
import { loadConfig } from '../src/config.js';
import { Ledger } from '../src/ledger/ledger.js';
import { sendQueue } from '../src/queue.js';
import { freePort, startRedisServer } from '../src/dev/redis-server.js';

/**
 * What every step of the benchmark shares: one private Redis, a work folder for campaign files, the
 * simulator and the measured children (each in its own process), and the messages they send.
 */

/** Scripts beside this one, compiled: dist/bench/worker-child.js, dist/bench/enqueue-child.js, dist/src/cli/main.js. */
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const KEY = 'bench_key';
const SECRET = 'bench_secret';
/** A rate limit high enough never to be the bottleneck. */
export const UNLIMITED = 100_000;

/** The run's shared state, passed to every step. */
export interface BenchContext {
  /** The private Redis's URL. */
  redisUrl: string;
  /** A throwaway folder for campaign files. */
  work: string;
  /** A progress line on stderr (silent with --json). */
  log: (line: string) => void;
  /** A queue prefix no step has used yet: bench1, bench2, … */
  nextPrefix: () => string;
}

/** Starts the private Redis and the work folder; `close` stops the one and removes the other. */
export async function openBench(log: (line: string) => void): Promise<BenchContext & { close(): Promise<void> }> {
  const redis = await startRedisServer();
  const work = mkdtempSync(join(tmpdir(), 'wa-bulk-bench-'));
  let prefixCounter = 0;
  return {
    redisUrl: redis.url,
    work,
    log,
    nextPrefix: () => `bench${++prefixCounter}`,
    close: async () => {
      await redis.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** A child's environment: the private Redis, the simulator's credentials, no logs, and `extra`. */
export function env(bench: BenchContext, extra: Record<string, string | number>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: bench.redisUrl,
    ENGAGELAB_DEV_KEY: KEY,
    ENGAGELAB_DEV_SECRET: SECRET,
    LOG_LEVEL: 'silent',
  };
  for (const [k, v] of Object.entries(extra)) out[k] = String(v);
  return out;
}

/** A worker child's environment: its queue, the simulator, jobs at once, the account's and each sender's limit/s. */
export function workerEnv(
  bench: BenchContext,
  to: { prefix: string; simulator: string; concurrency: number; rate: number; senderRate?: number },
  extra: Record<string, string | number> = {},
): NodeJS.ProcessEnv {
  return env(bench, {
    QUEUE_PREFIX: to.prefix,
    ENGAGELAB_BASE_URL: to.simulator,
    WORKER_CONCURRENCY: to.concurrency,
    SEND_RATE_MAX: to.rate,
    SENDER_RATE_MAX: to.senderRate ?? to.rate,
    SEND_RATE_DURATION_MS: 1000,
    ...extra,
  });
}

let profiled = 0;

export function child<T>(
  script: string,
  args: string[],
  childEnv: NodeJS.ProcessEnv,
): { process: ChildProcess; result: Promise<T> } {
  // WA_BULK_BENCH_PROFILE=<dir>: every measured child writes a V8 CPU profile there (open it in Chrome DevTools).
  const profileDir = process.env.WA_BULK_BENCH_PROFILE;
  // Named by order and kind (worker-child-3-wa-bulk.cpuprofile), so a step's log says which is which.
  const name = `${script.replace(/\.js$/, '')}-${++profiled}${args[0] ? `-${args[0]}` : ''}.cpuprofile`;
  const execArgv = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', name] : [];
  if (profileDir) process.stderr.write(`  (CPU profile: ${join(profileDir, name)})\n`);
  const proc = fork(here(script), args, { env: childEnv, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const result = new Promise<T>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { process: proc, result };
}

/** What worker-child.js reports over IPC. */
export interface WorkerResult {
  kind: string;
  count: number;
  seconds: number;
  perSecond: number;
  maxRssMb: number;
  cpuMsPerMessage: number;
  systemShare: number;
  lateGrants?: number;
  /** Late grants given again for their new time instead (wa-bulk). */
  regrantedGrants?: number;
}

/** The simulator's arrival figures over 1 s windows (GET /_simulator/stats; recorded with --record-arrivals). */
export interface SimulatorStats {
  arrivals: number;
  max_in_window: number;
  first_ms: number;
  last_ms: number;
  steady_per_second: number;
  by_from: Record<string, { arrivals: number; max_in_window: number; steady_per_second: number }>;
}

export interface Simulator {
  url: string;
  stop: () => void;
  stats: () => Promise<SimulatorStats>;
}

export async function startSimulator(latencyMs: number, record = false): Promise<Simulator> {
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
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    stop: () => proc.kill('SIGTERM'),
    stats: async () => (await (await fetch(`${url}/_simulator/stats?window_ms=1000`)).json()) as SimulatorStats,
  };
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

/** A JSONL campaign of `count` messages in the work folder; resolves with its path. */
export async function writeCampaign(bench: BenchContext, count: number): Promise<string> {
  const path = join(bench.work, `campaign-${count}.jsonl`);
  const out = createWriteStream(path);
  for (let i = 0; i < count; i++) {
    if (!out.write(`${JSON.stringify(message(i))}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve) => out.end(resolve));
  return path;
}

/** A bench message: its index and its sender (none for the default lane). */
export type MessageMaker = (i: number, from?: string) => object;

/**
 * Fills a fresh prefix with `count` jobs through the real producer (so wa-bulk's ledger has them too), the
 * messages taking `lanes` in turn.
 */
export async function fill(
  bench: BenchContext,
  prefix: string,
  count: number,
  lanes: string[] = [],
  make: MessageMaker = message,
): Promise<void> {
  const config = loadConfig({ env: env(bench, { QUEUE_PREFIX: prefix }), dotEnvPath: false });
  const client = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
  const queue = sendQueue(config, client);
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify(make(i, lanes.length > 0 ? lanes[i % lanes.length] : undefined)),
  ).join('\n');
  const summary = await enqueue(readJsonl(Readable.from([lines])), {
    campaign: 'bench',
    ledger: new Ledger(client, prefix, 1),
    queue,
  });
  // A worker child waits for `count` jobs: one the producer turned away would keep it waiting for ever.
  if (summary.accepted !== count)
    throw new Error(`bench fill: ${summary.accepted} of ${count} messages accepted (${summary.rejected} rejected)`);
  await queue.close();
  client.disconnect();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis's own figures: main-thread CPU seconds so far, and used memory in bytes. */
export async function redisInfo(bench: BenchContext): Promise<{ cpu: number; memory: number }> {
  const client = new Redis(bench.redisUrl);
  const info = `${await client.info('cpu')}\n${await client.info('memory')}`;
  client.disconnect();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return { cpu: field('used_cpu_sys_main_thread') + field('used_cpu_user_main_thread'), memory: field('used_memory') };
}

/** One command's figures in `INFO commandstats`: calls and microseconds of Redis's main thread. */
export interface CommandStat {
  calls: number;
  usec: number;
}

/** `INFO commandstats`, by command name (evalsha, hincrby, …). */
export async function commandStats(bench: BenchContext): Promise<Record<string, CommandStat>> {
  const client = new Redis(bench.redisUrl);
  const info = await client.info('commandstats');
  client.disconnect();
  const out: Record<string, CommandStat> = {};
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
    out[m[1] as string] = { calls: Number(m[2]), usec: Number(m[3]) };
  return out;
}

/** What ran between two `commandStats` readings, by command. */
export function commandStatsSince(
  before: Record<string, CommandStat>,
  after: Record<string, CommandStat>,
): Record<string, CommandStat> {
  const out: Record<string, CommandStat> = {};
  for (const [name, now] of Object.entries(after)) {
    const was = before[name] ?? { calls: 0, usec: 0 };
    if (now.calls > was.calls) out[name] = { calls: now.calls - was.calls, usec: now.usec - was.usec };
  }
  return out;
}

export async function flushRedis(bench: BenchContext): Promise<void> {
  const client = new Redis(bench.redisUrl);
  await client.flushall();
  client.disconnect();
}
