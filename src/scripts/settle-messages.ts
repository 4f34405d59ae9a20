import type { Redis } from 'ioredis';
import { script, type Arg } from './loader.js';

/** settle-messages.lua, per message. */
export const SettleVerdict = { Unchanged: 0, Changed: 1, OrphansWaiting: 2 } as const;
export type SettleVerdict = (typeof SettleVerdict)[keyof typeof SettleVerdict];

export interface SettleMessage {
  /**
   * The message record, its campaign's counters, its message_id index entry, orphaned delivery rows and its
   * campaign's per-minute counts.
   */
  messageKey: string;
  campaignKey: string;
  messageIdKey: string;
  orphanKey: string;
  minutesKey: string;
  status: 'sent' | 'dead' | 'skipped';
  /** Epoch ms. */
  now: number;
  /** How long the settled record stays. */
  ttlSeconds: number;
  /** Sent: the message_id index entry's value, and EngageLab's message_id ('' otherwise). */
  messageIdEntry: string;
  messageId: string;
  /** Dead or skipped: why ('' when sent). */
  code: number | string;
  httpStatus: number | string;
  reason: string;
  error: string;
}

export interface SettleMessages {
  /** The change feed, and the orphans index (orphaned message_ids by expiry). */
  keys: { archive: string; orphans: string };
  /** Where the request_id starts in a record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
  messages: readonly SettleMessage[];
}

/**
 * How fast a campaign's pace forgets: its rate (src/ledger/records.ts) is that of about the last minute, so
 * that a pause or a slow start long ago does not hold down its rate and its ETA.
 */
export const PACE_MS = 60_000;

const call = script<SettleVerdict[]>('settle-messages');

/** Settles messages as sent, dead or skipped, in one script run (settle-messages.lua): a verdict per message. */
export function settleMessages(client: Redis, input: SettleMessages): Promise<SettleVerdict[]> {
  const keys = [input.keys.archive, input.keys.orphans];
  const argv: Arg[] = [input.idFrom, PACE_MS];
  for (const m of input.messages) {
    keys.push(m.messageKey, m.campaignKey, m.messageIdKey, m.orphanKey, m.minutesKey);
    argv.push(m.status, m.now, m.ttlSeconds, m.messageIdEntry, m.messageId, m.code, m.httpStatus, m.reason, m.error);
  }
  return call(client, keys, argv);
}
