import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { laneQueueName, laneOfQueue, jobIdFor, withQueue, briefQueue } from '../queue.js';
import { laneNames } from '../lanes/lanes.js';
import type { Ledger } from '../ledger/ledger.js';
import type { CampaignCounts } from '../ledger/records.js';
import type { Keys } from '../redis/keys.js';
import { addSkipped } from '../status/fleet-stats.js';
import { execWithEvent } from '../events/feed.js';
import { markDone } from '../scripts/mark-done.js';

/**
 * A campaign's own state, beside its counters in {prefix}:campaign:{id}: the counters are the ledger's (its
 * scripts), these fields are this module's alone:
 *   state          'paused' or 'cancelled' while one is in force (absent: it sends)
 *   pause_reason, paused_at
 * The grant script reads `state` for every message's first request, so a pause or a cancel takes effect
 * before the next request of the campaign leaves, whichever worker holds it.
 *
 * Each change of state is appended to the change feed (src/events/feed.ts) in the same transaction:
 * campaign.paused, campaign.resumed, campaign.cancelled and campaign.done.
 *
 * A paused campaign's jobs do not hold their lanes' slots: a worker that meets one parks it (delayed for
 * PARK_MS, its id in {prefix}:campaign:{id}:parked) and resume promotes the parked jobs at once.
 */

/** How long a parked job sleeps before it looks again (in case a resume missed it). */
export const PARK_MS = 10 * 60_000;

/** A parked set larger than this is sampled to share its count among lanes. */
const PARKED_SAMPLE = 1000;

/**
 * Why a campaign takes no pause, or undefined when it does: a cancelled one is over for good (a pause would
 * undo the cancel), and a done one has no message pending to hold (a pause left on it would only park, unseen,
 * messages enqueued later). The command line and the API refuse both.
 */
export function pauseRefusal(
  campaign: Pick<CampaignCounts, 'id' | 'state'>,
): { error: string; state: 'done' | 'cancelled' } | undefined {
  if (campaign.state === 'cancelled')
    return { error: `campaign "${campaign.id}" is cancelled: there is nothing to pause`, state: 'cancelled' };
  if (campaign.state === 'done')
    return {
      error: `campaign "${campaign.id}" is done (no message of it is pending): there is nothing to pause`,
      state: 'done',
    };
  return undefined;
}

export class Campaigns {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Marks a finished campaign reported, with campaign.done and its figures in the feed (without figures, as
   * for a cancelled campaign: no event); true the first time only (the campaign.done report is sent once).
   */
  async markDone(id: string, figures: object | undefined): Promise<boolean> {
    const k = { campaign: this.keys.campaign(id), archive: this.keys.archive };
    return markDone(this.redis, { keys: k, now: Date.now(), id, data: figures });
  }

  /** `by`: who paused it, as the audit log names actors (an API key's name, `cli:<user>`, `system:<part>`). */
  async pause(id: string, reason: string, by = 'system'): Promise<void> {
    const tx = this.redis
      .multi()
      .hset(this.keys.campaign(id), 'state', 'paused', 'pause_reason', reason, 'paused_at', Date.now());
    await execWithEvent(this.redis, this.keys, tx, 'campaign.paused', id, {
      by,
      state: 'paused',
      pause_reason: reason,
    });
  }

  /**
   * Lets a paused campaign send again; its parked jobs are promoted (returns how many). The quality guard's
   * window starts afresh: the operator has looked at what it reported.
   */
  async resume(id: string, by = 'system'): Promise<number> {
    const key = this.keys.campaign(id);
    if ((await this.redis.hget(key, 'state')) === 'paused')
      await execWithEvent(
        this.redis,
        this.keys,
        this.redis.multi().hdel(key, 'state', 'pause_reason', 'paused_at'),
        'campaign.resumed',
        id,
        { by },
      );
    await this.redis.del(this.keys.campaignOutcomes(id));
    return this.promoteParked(id);
  }

  /** Wakes the campaign's parked jobs (returns how many). */
  private async promoteParked(id: string): Promise<number> {
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
   * Cancels a campaign for good: once it returns no worker gets a grant for another of its messages (requests
   * already granted finish), and every pending message no request is on the wire for ends `skipped`, reason
   * `cancelled`: those waiting, delayed or parked (their jobs are removed) and those a worker holds before
   * their grant (which then ends without a request). A message between two requests of a retry is left to
   * its worker, whose next grant meets the cancelled state. Returns how many this cancel skipped, and adds
   * them to the fleet's counters; a second cancel finds nothing left.
   *
   * Until every message is looked at, the campaign is paused (reason "cancelling"): a held job that asks
   * for its grant meanwhile is parked, not skipped by its worker, so that each skip is this cancel's and
   * counted once. Then the state is written for good and the jobs parked since are woken to end.
   */
  async cancel(id: string, ledger: Ledger, by = 'system'): Promise<number> {
    const key = this.keys.campaign(id);
    const wasCancelled = (await this.redis.hget(key, 'state')) === 'cancelled';
    if (!wasCancelled)
      await this.redis.hset(key, 'state', 'paused', 'pause_reason', 'cancelling', 'paused_at', Date.now());
    const queues = (await laneNames(this.redis, this.keys)).map((lane) =>
      briefQueue(this.redis, this.keys.prefix, laneQueueName(lane)),
    );
    const removeJob = async (requestId: string): Promise<boolean> => {
      const jobId = jobIdFor(requestId);
      for (const queue of queues) if ((await queue.remove(jobId)) === 1) return true;
      return false;
    };
    let skipped = 0;
    try {
      for await (const pending of ledger.pendingMessages(id)) {
        // The ledger first, so that a job a worker takes meanwhile finds its message settled.
        const skippedNow = await ledger.skipCancelled(
          id,
          pending.map((m) => ({ ...m, removed: false })),
        );
        // Then the jobs: a job no worker holds is removed; one whose message was left (a request was made
        // for it) and that waited in its queue (a BullMQ retry's backoff, a dead worker's) is skipped too.
        const removed = await Promise.all(pending.map((m) => removeJob(m.requestId)));
        const left = pending.filter((_, i) => !skippedNow[i] && removed[i]).map((m) => ({ ...m, removed: true }));
        const count = skippedNow.filter(Boolean).length + (await ledger.skipCancelled(id, left)).filter(Boolean).length;
        await addSkipped(this.redis, this.keys.metrics, 'cancelled', count);
        skipped += count;
      }
    } finally {
      await Promise.all(queues.map((queue) => queue.close()));
    }
    const tx = this.redis.multi().hset(key, 'state', 'cancelled', 'cancelled_at', Date.now());
    tx.hdel(key, 'pause_reason', 'paused_at');
    if (wasCancelled) await tx.exec();
    else await execWithEvent(this.redis, this.keys, tx, 'campaign.cancelled', id, { by, state: 'cancelled' });
    await this.promoteParked(id);
    return skipped;
  }

  /**
   * How many jobs the campaign has parked, and how many of them are in each lane's queue (where they are
   * delayed jobs, which the lane's `waiting` counts). A campaign's jobs are nearly always in one lane; a
   * large set is sampled, so its lanes' shares are then estimates.
   */
  async parked(id: string): Promise<{ count: number; byLane: Map<string, number> }> {
    const key = this.keys.campaignParked(id);
    const count = await this.redis.scard(key);
    const byLane = new Map<string, number>();
    if (count === 0) return { count, byLane };
    const members =
      count <= PARKED_SAMPLE ? await this.redis.smembers(key) : await this.redis.srandmember(key, PARKED_SAMPLE);
    // Members are "<queue>|<job id>".
    for (const member of members) {
      const lane = laneOfQueue(member.slice(0, member.indexOf('|')));
      if (lane !== undefined) byLane.set(lane, (byLane.get(lane) ?? 0) + 1);
    }
    for (const [lane, n] of byLane) byLane.set(lane, Math.round((n * count) / members.length));
    return { count, byLane };
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
