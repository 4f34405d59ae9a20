import type { Redis } from 'ioredis';
import { regrantSends, ungrantSends, type GrantKeys, type GrantRequest } from '../../src/scripts/index.js';
import type { RedisClock } from './clock.js';
import type { Pacing } from './pacing.js';

/** Late grants are given again at most this many times in a row before they are handed back. */
const REGRANT_TRIES = 3;

/** What giving late grants again needs of its gate. */
export interface RegrantContext {
  client: Redis;
  clock: RedisClock;
  /** The account's pace and the lane's. */
  pacing: Pacing;
  lanePacing: Pacing;
  pairIntervalMs: number;
  outageThreshold: number;
  /** The gate's sleep: rejects with a PausedSignal('closing') when the gate closes. */
  sleep(ms: number): Promise<void>;
}

/**
 * Late grants given again for now in one short call when the pace has room for all of them
 * (regrant-sends.lua), up to REGRANT_TRIES times while the answer comes late too (a busy process: each try
 * costs less than handing them back and asking again); false when they were handed back.
 */
export async function giveAgain(
  gate: RegrantContext,
  granted: readonly GrantRequest[],
  keys: GrantKeys,
): Promise<boolean> {
  const regrantKeys = {
    accountPace: keys.accountPace,
    hold: keys.hold,
    breaker: keys.breaker,
    laneMeta: keys.laneMeta,
    lanePace: keys.lanePace,
    laneState: keys.laneState,
    suppressed: keys.suppressed,
  };
  for (let tries = 0; tries < REGRANT_TRIES; tries++) {
    const lead = gate.clock.lead();
    const askedAt = performance.now();
    const { given, redisNow } = await regrantSends(gate.client, {
      keys: regrantKeys,
      spacingMs: gate.pacing.spacingMs,
      burstMs: gate.pacing.burstMs,
      leadMs: lead,
      laneSpacingMs: gate.lanePacing.spacingMs,
      pairIntervalMs: gate.pairIntervalMs,
      outageThreshold: gate.outageThreshold,
      grants: granted,
    });
    if (!given) return false;
    const sendAt = gate.clock.localTime(askedAt, redisNow, performance.now()) + lead;
    if (sendAt > performance.now()) await gate.sleep(sendAt - performance.now());
    if (performance.now() - sendAt <= gate.pacing.tripMs) return true;
  }
  await ungrantSends(gate.client, { grants: granted });
  return false;
}
