import type { Redis } from 'ioredis';
import { script, type Arg } from './loader.js';
import type { LedgerCheck } from './grant-sends.js';

export interface RegrantKeys {
  /** The account's pace, the hold and the outage breaker. */
  accountPace: string;
  hold: string;
  breaker: string;
  /** The lane's queue's meta hash, its pace and its state. */
  laneMeta: string;
  lanePace: string;
  laneState: string;
  /** Suppressed numbers. */
  suppressed: string;
}

/**
 * A late grant: its message record, pair key and campaign's counters, its expiry, whether it was a message's
 * first ask, and its recipient.
 */
export interface RegrantSend {
  messageKey: string;
  pairKey: string;
  campaignKey: string;
  expiresAt?: number | undefined;
  check: LedgerCheck;
  to: string;
}

export interface RegrantSends {
  keys: RegrantKeys;
  spacingMs: number;
  burstMs: number;
  /** The grants are for Redis's now + this (ms). */
  leadMs: number;
  laneSpacingMs: number;
  pairIntervalMs: number;
  outageThreshold: number;
  grants: readonly RegrantSend[];
}

const call = script<[0 | 1, string]>('regrant-sends');

/**
 * Late grants given again for Redis's now + lead when the pace has room for all of them, else handed back
 * (regrant-sends.lua). `given`: they may leave; `redisNow`: Redis's clock as the script ran (epoch ms).
 */
export async function regrantSends(client: Redis, input: RegrantSends): Promise<{ given: boolean; redisNow: number }> {
  const k = input.keys;
  const keys = [k.accountPace, k.hold, k.breaker, k.laneMeta, k.lanePace, k.laneState, k.suppressed];
  const argv: Arg[] = [
    input.spacingMs.toFixed(3),
    input.burstMs,
    input.leadMs.toFixed(3),
    input.laneSpacingMs.toFixed(3),
    input.pairIntervalMs,
    input.outageThreshold,
  ];
  for (const g of input.grants) {
    keys.push(g.messageKey, g.pairKey, g.campaignKey);
    argv.push(g.expiresAt ?? 0, g.check === 'none' ? '0' : '1', g.to);
  }
  const [given, redisNow] = await call(client, keys, argv);
  return { given: given === 1, redisNow: Number(redisNow) };
}
