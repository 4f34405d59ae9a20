import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { Ledger, type LongTermLedger } from './ledger.js';
import type { Logger } from '../log.js';
import { keys } from '../redis/keys.js';
import { Archiver } from '../archive/archiver.js';
import { ArchiveStore } from '../archive/store.js';
import { AuditStore } from '../archive/audit-store.js';
import { parseAuditEntry } from '../access/audit.js';
import { trimFeedAndSay } from '../events/feed.js';

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
 * The archivers of a long-running process, each on a Redis connection of its own: when the ledger has a
 * long-term part and this process drains it (ARCHIVER=on), one for the ledger's changes and one that copies
 * the audit log (kept in its stream, which trims itself); else undefined.
 */
export function archiverFor(
  config: Config,
  redis: Redis,
  ledger: Ledger,
  log: Logger,
): { start(): void; stop(): Promise<void> } | undefined {
  if (!ledger.longTerm || config.ARCHIVER === 'off') return undefined;
  const k = keys(config.QUEUE_PREFIX);
  const store = ledger.longTerm.store;
  const audit = new AuditStore(store);
  const archivers = [
    new Archiver(redis, redis.duplicate(), k.archive, store, log, {
      keep: true,
      trim: () => trimFeedAndSay(redis, k.archive, config.FEED_MAX_ENTRIES, log),
    }),
    new Archiver(redis, redis.duplicate(), k.audit, store, log, {
      group: 'audit-archivers',
      keep: true,
      label: 'audit log',
      sink: async (entries) => {
        await audit.write(entries.map(([id, fields]) => parseAuditEntry(id, fields)));
      },
    }),
  ];
  return {
    start: () => archivers.forEach((a) => a.start()),
    stop: async () => {
      await Promise.all(archivers.map((a) => a.stop()));
    },
  };
}
