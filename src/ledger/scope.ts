import type { Redis } from 'ioredis';
import type { ArchiveStore } from '../archive/store.js';
import type { Keys } from '../redis/keys.js';

/**
 * What the ledger's writes share (./ledger.ts builds it once): the connection, the key layout, the long-term
 * ledger if there is one, and the expiries and feed setting every script is given.
 */
export interface LedgerScope {
  readonly client: Redis;
  readonly keys: Keys;
  readonly archive: ArchiveStore | undefined;
  /** How long Redis keeps what is pending, a campaign's counters and its list of messages (RESULT_TTL_DAYS). */
  readonly ttlSeconds: number;
  /** How long Redis keeps a settled record and its message_id index entry. */
  readonly settledTtlSeconds: number;
  /**
   * Where the request_id starts in a record's key, for the scripts' snapshots in the change feed: positive
   * with a long-term ledger (always appended), negative without (appended while the feed has a reader, such
   * as the webhook dispatcher: src/scripts/includes/feed.lua).
   */
  readonly idFrom: number;
}

/** The message_id index's value: campaign ids cannot contain '|', request_ids neither. */
export const messageIdEntry = (campaign: string, requestId: string) => `${campaign}|${requestId}`;
