import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { laneQueueName, jobIdFor, withQueue, openQueue } from '../queue.js';
import { laneNames } from '../lanes/lanes.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Keys } from '../redis/keys.js';

/**
 * A campaign's own state, beside its counters in {prefix}:campaign:{id}: the counters are the ledger's (its
 * scripts), these fields are this module's alone:
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

  /** Marks a finished campaign reported; true the first time only (the campaign.done report is sent once). */
  async markDone(id: string): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.campaign(id), 'done_at', Date.now())) === 1;
  }

  async pause(id: string, reason: string): Promise<void> {
    await this.redis.hset(this.keys.campaign(id), 'state', 'paused', 'pause_reason', reason, 'paused_at', Date.now());
  }

  /**
   * Lets a paused campaign send again; its parked jobs are promoted (returns how many). The quality guard's
   * window starts afresh: the operator has looked at what it reported.
   */
  async resume(id: string): Promise<number> {
    const key = this.keys.campaign(id);
    if ((await this.redis.hget(key, 'state')) === 'paused')
      await this.redis.hdel(key, 'state', 'pause_reason', 'paused_at');
    await this.redis.del(this.keys.campaignOutcomes(id));
    const parked = await this.redis.smembers(this.keys.campaignParked(id));
    const byQueue = new Map<string, string[]>();
    for (const member of parked) {
      const [queueName, jobId] = member.split('|') as [string, string];
      byQueue.set(queueName, [...(byQueue.get(queueName) ?? []), jobId]);
    }
    let promoted = 0;
    for (const [queueName, ids] of byQueue) {
      await withQueue(this.redis, this.keys.prefix, queueName, async (queue) => {
        for (const jobId of ids) if (await promote(await queue.getJob(jobId))) promoted++;
      });
    }
    if (parked.length > 0) await this.redis.srem(this.keys.campaignParked(id), ...parked);
    return promoted;
  }

  /**
   * Cancels a campaign for good: once the state is written no worker gets a grant for another of its
   * messages (requests already granted finish); its waiting, delayed and parked jobs are removed and their
   * messages end `skipped`, reason `cancelled` (a job a worker holds meets the state at its grant). Returns
   * how many were skipped now; a second cancel finds nothing left.
   */
  async cancel(id: string, ledger: Ledger): Promise<number> {
    await this.redis.hset(this.keys.campaign(id), 'state', 'cancelled', 'cancelled_at', Date.now());
    await this.redis.hdel(this.keys.campaign(id), 'pause_reason', 'paused_at');
    const queues = (await laneNames(this.redis, this.keys)).map((lane) =>
      openQueue(this.redis, this.keys.prefix, laneQueueName(lane)),
    );
    let skipped = 0;
    try {
      for await (const ids of ledger.pendingIds(id)) {
        await Promise.all(
          ids.map(async (requestId) => {
            const jobId = jobIdFor(requestId);
            let removed = false;
            for (const queue of queues) if (!removed) removed = (await queue.remove(jobId)) === 1;
            // A job a worker holds (it may be in flight) is not touched: its grant, or its result, settles it.
            if (removed && (await ledger.markSkipped(requestId, id, 'cancelled'))) skipped++;
          }),
        );
      }
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
    }
    await this.redis.del(this.keys.campaignParked(id));
    return skipped;
  }

  async state(id: string): Promise<{ state: 'paused' | 'cancelled' | null; pause_reason: string | null }> {
    const [state, reason] = await this.redis.hmget(this.keys.campaign(id), 'state', 'pause_reason');
    return { state: state === 'paused' || state === 'cancelled' ? state : null, pause_reason: reason ?? null };
  }

  /**
   * Parks a job of a paused campaign (called by its processor, which holds its lock): delayed for PARK_MS
   * and noted for resume. A resume that ran meanwhile is caught by looking again.
   */
  async park(job: Job, campaign: string, token: string | undefined, expiresAt?: number): Promise<void> {
    // An expiring message wakes at its expiry, so that it ends then even while its campaign is paused.
    await job.moveToDelayed(Math.min(Date.now() + PARK_MS, expiresAt ?? Number.POSITIVE_INFINITY), token);
    await this.redis.sadd(this.keys.campaignParked(campaign), `${job.queueName}|${job.id}`);
    if ((await this.redis.hget(this.keys.campaign(campaign), 'state')) !== 'paused') await promote(job);
  }
}

async function promote(job: Job | undefined): Promise<boolean> {
  if (!job || (await job.getState()) !== 'delayed') return false;
  await job.promote();
  return true;
}
