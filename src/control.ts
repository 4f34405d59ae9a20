import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from './queue.js';

/**
 * Pausing and resuming sending for every worker at once. BullMQ's queue pause stops workers from taking
 * jobs; the send gate also refuses requests of jobs already taken. The reason is kept beside it so
 * `status` and the dashboard can say why.
 */
export interface PauseState {
  paused: boolean;
  reason: string | null;
  since: string | null;
}

export async function pauseSending(queue: Queue, client: Redis, keys: Keys, reason: string): Promise<void> {
  await client.hset(keys.control, 'pause_reason', reason, 'paused_at', Date.now());
  await queue.pause();
}

export async function resumeSending(queue: Queue, client: Redis, keys: Keys): Promise<void> {
  await client.hdel(keys.control, 'pause_reason', 'paused_at');
  // A fresh start after an operator's decision: forget the outage breaker's history too.
  await client.del(keys.breaker, keys.breakerProbe, keys.limiterGate);
  await queue.resume();
}

export async function pauseState(queue: Queue, client: Redis, keys: Keys): Promise<PauseState> {
  const [paused, [reason, since]] = await Promise.all([queue.isPaused(), client.hmget(keys.control, 'pause_reason', 'paused_at')]);
  return {
    paused,
    reason: paused ? (reason ?? 'paused by an operator') : null,
    since: paused && since ? new Date(Number(since)).toISOString() : null,
  };
}
