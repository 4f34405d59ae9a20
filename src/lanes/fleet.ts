import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_LANE, laneQueueName, withQueue } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import { laneNames } from './lanes.js';
import { execWithEvent } from '../events/feed.js';

/**
 * The fleet's control hash ({prefix}:control) has this one writer: the fleet's pause and the phone number's
 * messaging tier. Pausing and resuming sending: the whole fleet (an operator, an auth failure, a notification that means
 * sending cannot succeed) or one sender lane (an operator, Meta's 131048 for that number). A pause pauses
 * the lanes' BullMQ queues, so that workers stop taking their jobs, and the send gate refuses the requests
 * of jobs already taken. The reason is kept beside it (fleet: {prefix}:control, lane: {prefix}:lane:{lane},
 * written by lanes.ts) so that `status` and the dashboard can say why. The fleet's pause and resume are
 * appended to the change feed (sending.paused, sending.resumed) with the change.
 */
export interface PauseState {
  paused: boolean;
  reason: string | null;
  since: string | null;
}

/** Runs `fn` on each lane's send queue in turn. */
async function eachLaneQueue(
  client: Redis,
  keys: Keys,
  lanes: string[],
  fn: (queue: Queue) => Promise<void>,
): Promise<void> {
  for (const lane of lanes) await withQueue(client, keys.prefix, laneQueueName(lane), fn);
}

/** How a fleet pause that a callback notification caused begins its reason: the pause says where it came from. */
export const CALLBACK_PAUSE_PREFIX = 'from a callback: ';

/** `by`: who paused it, as the audit log names actors. */
export async function pauseSending(client: Redis, keys: Keys, reason: string, by = 'system'): Promise<void> {
  // The reason first: a lane created from now on starts paused (the enqueue script reads it).
  const tx = client.multi().hset(keys.control, 'pause_reason', reason, 'paused_at', Date.now());
  await execWithEvent(client, keys, tx, 'sending.paused', '', { lane: null, reason, by });
  await eachLaneQueue(client, keys, await laneNames(client, keys), (queue) => queue.pause());
}

/** Restarts every lane but those paused on their own. */
export async function resumeSending(client: Redis, keys: Keys, by = 'system'): Promise<void> {
  const wasPaused = (await client.hexists(keys.control, 'pause_reason')) === 1;
  const tx = client.multi().hdel(keys.control, 'pause_reason', 'paused_at');
  if (wasPaused) await execWithEvent(client, keys, tx, 'sending.resumed', '', { lane: null, by });
  else await tx.exec();
  // A fresh start after an operator's decision: forget the outage breaker's history too.
  await client.del(keys.breaker, keys.breakerProbe, keys.limiterGate);
  const lanes: string[] = [];
  for (const lane of await laneNames(client, keys))
    if (!(await client.hexists(keys.lane(lane), 'pause_reason'))) lanes.push(lane);
  await eachLaneQueue(client, keys, lanes, (queue) => queue.resume());
}

/** The fleet's pause (or the default lane's queue paused in Bull Board). */
export async function pauseState(client: Redis, keys: Keys): Promise<PauseState> {
  const [[reason, since], defaultPaused] = await Promise.all([
    client.hmget(keys.control, 'pause_reason', 'paused_at'),
    client.hexists(keys.bull(laneQueueName(DEFAULT_LANE), 'meta'), 'paused'),
  ]);
  const paused = reason !== null || defaultPaused === 1;
  return {
    paused,
    reason: paused ? (reason ?? 'paused by an operator') : null,
    since: paused && since ? new Date(Number(since)).toISOString() : null,
  };
}

/**
 * Records what a phone_number_update said (its tier, and the messaging limit that tier means), for `status`
 * and MESSAGING_LIMIT=auto.
 */
export async function recordPhoneLimit(client: Redis, keys: Keys, record: Record<string, string>): Promise<void> {
  await client.hset(keys.control, record);
}
