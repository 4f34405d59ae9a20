import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_LANE, laneQueueName, withQueue } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import { laneNames } from './lanes.js';

/**
 * Pausing and resuming sending: the whole fleet (an operator, an auth failure, a notification that means
 * sending cannot succeed) or one sender lane (an operator, Meta's 131048 for that number). A pause pauses
 * the lanes' BullMQ queues, so that workers stop taking their jobs, and the send gate refuses the requests
 * of jobs already taken. The reason is kept beside it (fleet: {prefix}:control, lane: {prefix}:lane:{lane})
 * so that `status` and the dashboard can say why.
 */
export interface PauseState {
  paused: boolean;
  reason: string | null;
  since: string | null;
}

async function eachQueue(client: Redis, keys: Keys, lanes: string[], fn: (queue: Queue) => Promise<void>): Promise<void> {
  for (const lane of lanes) await withQueue(client, keys.prefix, laneQueueName(lane), fn);
}

export async function pauseSending(client: Redis, keys: Keys, reason: string): Promise<void> {
  // The reason first: a lane created from now on starts paused (the enqueue script reads it).
  await client.hset(keys.control, 'pause_reason', reason, 'paused_at', Date.now());
  await eachQueue(client, keys, await laneNames(client, keys), (queue) => queue.pause());
}

/** Restarts every lane but those paused on their own. */
export async function resumeSending(client: Redis, keys: Keys): Promise<void> {
  await client.hdel(keys.control, 'pause_reason', 'paused_at');
  // A fresh start after an operator's decision: forget the outage breaker's history too.
  await client.del(keys.breaker, keys.breakerProbe, keys.limiterGate);
  const lanes: string[] = [];
  for (const lane of await laneNames(client, keys)) if (!(await client.hexists(keys.lane(lane), 'pause_reason'))) lanes.push(lane);
  await eachQueue(client, keys, lanes, (queue) => queue.resume());
}

/** Stops one sender lane; the others go on. */
export async function pauseLane(client: Redis, keys: Keys, lane: string, reason: string): Promise<void> {
  await client.hsetnx(keys.lanes, lane, Date.now());
  await client.hset(keys.lane(lane), 'pause_reason', reason, 'paused_at', Date.now());
  await eachQueue(client, keys, [lane], (queue) => queue.pause());
}

/** Restarts one lane, unless the whole fleet is paused (it then restarts with the fleet). */
export async function resumeLane(client: Redis, keys: Keys, lane: string): Promise<void> {
  await client.hdel(keys.lane(lane), 'pause_reason', 'paused_at');
  if (!(await client.hexists(keys.control, 'pause_reason'))) await eachQueue(client, keys, [lane], (queue) => queue.resume());
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
