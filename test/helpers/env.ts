import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import { ledgerFor } from '../../src/ledger/index.js';
import { loadConfig, type Config, type ConfigInput } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { deadQueue, sendQueue } from '../../src/queue.js';
import { keys } from '../../src/redis/keys.js';
import { redisClient } from '../../src/redis/connection.js';
import { Simulator, type SimulatorOptions } from '../../src/simulator/simulator.js';
import { BODIES } from '../fixtures/messages.js';

/** Writes `content` to a new file in a directory of its own under the system's temp directory. */
export function tempFile(content: string, name = 'campaign.jsonl'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'wa-bulk-test-')), name);
  writeFileSync(path, content);
  return path;
}

export const KEY = 'test_key';
export const SECRET = 'test_secret_value_9f3a';

export function redisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: integration tests run through the jest global setup');
  return url;
}

/** A config of its own for one test: a unique QUEUE_PREFIX, fast retries, the simulator's URL. */
export function testConfig(overrides: ConfigInput = {}): Config {
  return loadConfig({
    dotEnvPath: false,
    env: {},
    overrides: {
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: `t-${randomBytes(5).toString('hex')}`,
      ENGAGELAB_DEV_KEY: KEY,
      ENGAGELAB_DEV_SECRET: SECRET,
      SEND_RATE_MAX: 10_000,
      SENDER_RATE_MAX: 10_000,
      SEND_RATE_DURATION_MS: 1000,
      // Tests that are about the pair interval set their own.
      PAIR_INTERVAL_MS: 0,
      // Media links in the fixtures (.invalid, a name that never resolves): preflight warns at once.
      PREFLIGHT_TIMEOUT_MS: 1000,
      WORKER_CONCURRENCY: 20,
      // Tests that need a request to time out set their own, shorter, timeout.
      HTTP_TIMEOUT_MS: 5000,
      RETRY_RETRIES: 1,
      RETRY_MIN_MS: 10,
      RETRY_MAX_MS: 20,
      SEND_ATTEMPTS: 2,
      SEND_BACKOFF_MS: 50,
      WORKER_LOCK_MS: 2000,
      LOG_LEVEL: 'silent',
      ...overrides,
    },
  });
}

/** The environment a child `wa-bulk` process needs to use the same config. */
export function envOf(config: Config): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    if (Array.isArray(v))
      env[k] = v
        .map((item: unknown) =>
          typeof item === 'object' && item !== null
            ? `${(item as { host: string }).host}:${(item as { port: number }).port}`
            : String(item),
        )
        .join(',');
    else if (k === 'FREQUENCY_CAP') {
      const cap = v as { max: number; windowMs: number };
      env[k] = `${cap.max}/${cap.windowMs}`;
    } else
      env[k] =
        typeof v === 'object'
          ? Object.entries(v as Record<string, number>)
              .map(([n, rate]) => `${n}=${rate}`)
              .join(',')
          : String(v);
  }
  return env;
}

export async function startSimulator(options: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const simulator = new Simulator({ key: KEY, secret: SECRET, seed: 42, ...options });
  await simulator.start();
  return simulator;
}

/** Redis handles of one test, and a cleanup that deletes every key under its prefix. */
export function harness(config: Config) {
  const redis = redisClient(config, { maxRetriesPerRequest: null });
  const ledger = ledgerFor(config, redis);
  const send = sendQueue(config, redis);
  const dead = deadQueue(config, redis);
  return {
    redis,
    ledger,
    send,
    dead,
    keys: keys(config.QUEUE_PREFIX),
    async close() {
      await send.obliterate({ force: true }).catch(() => {});
      await dead.obliterate({ force: true }).catch(() => {});
      // On a cluster every key of the prefix is on one node (its hash tag), but which one: scan them all.
      const nodes = config.REDIS_CLUSTER_NODES ? (redis as unknown as Cluster).nodes('master') : [redis];
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, found] = await node.scan(cursor, 'MATCH', `${config.QUEUE_PREFIX}:*`, 'COUNT', 1000);
          cursor = next;
          if (found.length > 0) await node.del(...found);
        } while (cursor !== '0');
      }
      await Promise.all([send.close(), dead.close(), ledger.close()]);
      redis.disconnect();
    },
  };
}
export type Harness = ReturnType<typeof harness>;

/** Records text messages to one number as pending in the ledger, each with its send job (the enqueue path). */
export async function addPending(harnessed: Harness, campaign: string, requestIds: string[]): Promise<void> {
  const to = '447911123456';
  const items = requestIds.map((requestId) => ({
    requestId,
    to,
    data: { request_id: requestId, campaign, payload: { to: [to], body: BODIES.text as never, request_id: requestId } },
  }));
  await harnessed.ledger.enqueue(campaign, 'default', items, {
    name: 'send',
    options: harnessed.send.defaultJobOptions,
  });
}

export function silentLogger(): Logger {
  return createLogger({ level: 'silent', pretty: false });
}

/** Resolves when the campaign has nothing pending (polls the ledger; a campaign has no completion event). */
export async function campaignDone(ledger: Ledger, campaign: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await ledger.campaign(campaign);
    if (counts && counts.pending === 0) return;
    if (Date.now() > deadline)
      throw new Error(`campaign ${campaign} not done after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Polls `check` until it holds (for states that have no event to await). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
