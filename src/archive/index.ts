import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { LongTermLedger } from '../ledger.js';
import type { Logger } from '../log.js';
import { keys } from '../queue.js';
import { Archiver } from './archiver.js';
import { ArchiveStore } from './store.js';

export { Archiver } from './archiver.js';
export { ArchiveStore } from './store.js';

/** The long-term ledger DATABASE_URL asks for, or undefined (Redis is then the whole ledger). */
export function longTermLedger(config: Config): LongTermLedger | undefined {
  if (!config.DATABASE_URL) return undefined;
  return { store: new ArchiveStore(config.DATABASE_URL, config.QUEUE_PREFIX), hotTtlSeconds: config.HOT_TTL_SECONDS };
}

/** An archiver for a long-running process (workers, dashboard), on a Redis connection of its own. */
export function archiverFor(config: Config, redis: Redis, longTerm: LongTermLedger, log: Logger): Archiver {
  return new Archiver(redis, redis.duplicate(), keys(config.QUEUE_PREFIX).archive, longTerm.store, log);
}
