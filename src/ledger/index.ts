import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { Ledger, type LongTermLedger } from './ledger.js';
import type { Logger } from '../log.js';
import { keys } from '../redis/keys.js';
import { Archiver } from '../archive/archiver.js';
import { ArchiveStore } from '../archive/store.js';

/** The long-term ledger DATABASE_URL asks for, or undefined (Redis is then the whole ledger). */
function longTermLedger(config: Config): LongTermLedger | undefined {
  if (!config.DATABASE_URL) return undefined;
  return { store: new ArchiveStore(config.DATABASE_URL, config.QUEUE_PREFIX), hotTtlSeconds: config.HOT_TTL_SECONDS };
}

/** The ledger as the configuration asks for it: Redis, and PostgreSQL behind it with DATABASE_URL. */
export function ledgerFor(config: Config, redis: Redis): Ledger {
  return new Ledger(redis, config.QUEUE_PREFIX, config.RESULT_TTL_DAYS, longTermLedger(config));
}

/**
 * The archiver of a long-running process (workers, dashboard), on a Redis connection of its own: when the
 * ledger has a long-term part and this process drains it (ARCHIVER=on); else undefined.
 */
export function archiverFor(config: Config, redis: Redis, ledger: Ledger, log: Logger): Archiver | undefined {
  if (!ledger.longTerm || config.ARCHIVER === 'off') return undefined;
  return new Archiver(redis, redis.duplicate(), keys(config.QUEUE_PREFIX).archive, ledger.longTerm.store, log);
}
