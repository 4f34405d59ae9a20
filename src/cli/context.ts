import type { StatusSources } from '../status/status.js';
import { loadConfig, type Config } from '../config.js';
import { ledgerFor } from '../ledger/index.js';
import { deadQueue, sendQueue } from '../queue.js';
import { keys } from '../redis/keys.js';
import { producerConnection } from '../redis/connection.js';

/** What a short command needs: config, one fail-fast Redis connection, the ledger and both queues. */
export interface CommandContext extends StatusSources {
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
