import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from './queue.js';

/**
 * A campaign's own state, beside its counters in {prefix}:campaign:{id} (the ledger's hash):
 *   state          'paused' or 'cancelled' while one is in force (absent: it sends)
 *   pause_reason, paused_at
 * The grant script reads `state` for every message's first request, so a pause or a cancel takes effect
 * before the next request of the campaign leaves, whichever worker holds it.
 *
 * A paused campaign's jobs do not hold their lanes' slots: a worker that meets one parks it (delayed for
 * PARK_MS, its id in {prefix}:campaign:{id}:parked) and resume promotes the parked jobs at once.
 */

/** How long a parked job sleeps before it looks again (in case a resume missed it). */
export const PARK_MS = 10 * 60_000;

export class Campaigns {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async pause(id: string, reason: string): Promise<void> {
    await this.redis.hset(this.keys.campaign(id), 'state', 'paused', 'pause_reason', reason, 'paused_at', Date.now());
  }

  /**
   * Lets a paused campaign send again; its parked jobs are promoted (returns how many). The quality guard's
   * window starts afresh: the operator has looked at what it reported.
   */
  async resume(id: string): Promise<number> {
    const key = this.keys.campaign(id);
    if ((await this.redis.hget(key, 'state')) === 'paused') await this.redis.hdel(key, 'state', 'pause_reason', 'paused_at');
    await this.redis.del(this.keys.campaignOutcomes(id));
    const parked = await this.redis.smembers(this.keys.campaignParked(id));
    const byQueue = new Map<string, string[]>();
    for (const member of parked) {
      const [queueName, jobId] = member.split('|') as [string, string];
      byQueue.set(queueName, [...(byQueue.get(queueName) ?? []), jobId]);
    }
    let promoted = 0;
    for (const [queueName, ids] of byQueue) {
      const queue = new Queue(queueName, { connection: this.redis, prefix: this.keys.prefix });
      try {
        for (const jobId of ids) if (await promote(await queue.getJob(jobId))) promoted++;
      } finally {
        await queue.close();
      }
    }
    if (parked.length > 0) await this.redis.srem(this.keys.campaignParked(id), ...parked);
    return promoted;
  }

  async state(id: string): Promise<{ state: 'paused' | 'cancelled' | null; pause_reason: string | null }> {
    const [state, reason] = await this.redis.hmget(this.keys.campaign(id), 'state', 'pause_reason');
    return { state: state === 'paused' || state === 'cancelled' ? state : null, pause_reason: reason ?? null };
  }

  /**
   * Parks a job of a paused campaign (called by its processor, which holds its lock): delayed for PARK_MS
   * and noted for resume. A resume that ran meanwhile is caught by looking again.
   */
  async park(job: Job, campaign: string, token: string | undefined): Promise<void> {
    await job.moveToDelayed(Date.now() + PARK_MS, token);
    await this.redis.sadd(this.keys.campaignParked(campaign), `${job.queueName}|${job.id}`);
    if ((await this.redis.hget(this.keys.campaign(campaign), 'state')) !== 'paused') await promote(job);
  }
}

async function promote(job: Job | undefined): Promise<boolean> {
  if (!job || (await job.getState()) !== 'delayed') return false;
  await job.promote();
  return true;
}
