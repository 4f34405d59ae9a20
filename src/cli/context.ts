import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadConfig, type Config } from '../config.js';
import { ledgerFor } from '../ledger/index.js';
import { Ledger } from '../ledger/ledger.js';
import { deadQueue, sendQueue, type DeadJobData, type SendJobData } from '../queue.js';
import { keys, type Keys } from '../redis/keys.js';
import { producerConnection } from '../redis/connection.js';

/** What a short command needs: config, one fail-fast Redis connection, the ledger and both queues. */
export interface CommandContext {
  config: Config;
  redis: Redis;
  keys: Keys;
  ledger: Ledger;
  send: Queue<SendJobData>;
  dead: Queue<DeadJobData>;
  close(): Promise<void>;
}

export async function openContext(config: Config = loadConfig()): Promise<CommandContext> {
  const redis = await producerConnection(config);
  const send = sendQueue(config, redis);
  const dead = deadQueue(config, redis);
  // Reads (result, export, status) go through to PostgreSQL for what Redis no longer holds.
  const ledger = ledgerFor(config, redis);
  return {
    config,
    redis,
    keys: keys(config.QUEUE_PREFIX),
    ledger,
    send,
    dead,
    async close() {
      await Promise.all([send.close(), dead.close(), ledger.close()]);
      redis.disconnect();
    },
  };
}

export async function withContext<T>(fn: (ctx: CommandContext) => Promise<T>, config?: Config): Promise<T> {
  const ctx = await openContext(config);
  try {
    return await fn(ctx);
  } finally {
    await ctx.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
