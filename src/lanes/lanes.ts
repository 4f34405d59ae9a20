import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { DEFAULT_LANE, laneQueueName, withQueue, type SendJobData } from '../queue.js';
import { type Keys } from '../redis/keys.js';
import { execWithEvent } from '../events/feed.js';

/**
 * Sender lanes. WhatsApp limits each business phone number, not the API key (WhatsApp Business Platform,
 * "Throughput": 80 messages/s by default, 1,000 after the upgrade, 20 for numbers shared with the Business
 * app), so every sending number has a lane of its own: its own BullMQ queue (a lane that waits holds no
 * other lane's jobs), its own pace under the account's, its own pause. This module is the one writer of the
 * lane registry and of each lane's hash.
 *
 *   (lane naming and queue names: src/queue.ts)
 *   {prefix}:lanes         hash: lane → when it was first seen (ms); enqueue registers lanes, workers follow it
 *   {prefix}:lane:{lane}   hash: pause_reason, paused_at (an operator or 131048), slow_factor, slow_until
 *                          (130429 lowers the lane's rate for a while), and rate:{worker} =
 *                          "<max>/<window ms>/<Redis ms>": the rate each running worker's gate uses for the
 *                          lane, refreshed every RATE_REFRESH_MS and stale RATE_STALE_MS after
 */

/** How often workers and the dashboard look for lanes the fleet has not seen before. */
export const LANE_POLL_MS = 1000;

/** The one reader of the lane registry: every lane the fleet has seen, the default lane first, the rest sorted. */
export async function laneNames(redis: Redis, keys: Keys): Promise<string[]> {
  const lanes = Object.keys(await redis.hgetall(keys.lanes));
  return [DEFAULT_LANE, ...lanes.filter((lane) => lane !== DEFAULT_LANE).sort()];
}

/**
 * The lanes an operator may pause or resume: those the fleet has seen and those SENDER_RATES configures (a
 * number may be paused before its first message). Any other number is a typo: pausing it would register a
 * lane that no message ever uses.
 */
export async function knownLanes(redis: Redis, keys: Keys, config: Pick<Config, 'SENDER_RATES'>): Promise<string[]> {
  const seen = await laneNames(redis, keys);
  const configured = Object.keys(config.SENDER_RATES).filter((lane) => !seen.includes(lane));
  return [...seen, ...configured.sort()];
}

/** Stops one sender lane; the others go on. */
export async function pauseLane(client: Redis, keys: Keys, lane: string, reason: string, by = 'system'): Promise<void> {
  await client.hsetnx(keys.lanes, lane, Date.now());
  const tx = client.multi().hset(keys.lane(lane), 'pause_reason', reason, 'paused_at', Date.now());
  await execWithEvent(client, keys, tx, 'sending.paused', lane, { lane, reason, by });
  await withQueue(client, keys.prefix, laneQueueName(lane), (queue) => queue.pause());
}

/** Restarts one lane, unless the whole fleet is paused (it then restarts with the fleet). */
export async function resumeLane(client: Redis, keys: Keys, lane: string, by = 'system'): Promise<void> {
  const wasPaused = (await client.hexists(keys.lane(lane), 'pause_reason')) === 1;
  const tx = client.multi().hdel(keys.lane(lane), 'pause_reason', 'paused_at');
  if (wasPaused) await execWithEvent(client, keys, tx, 'sending.resumed', lane, { lane, by });
  else await tx.exec();
  if (!(await client.hexists(keys.control, 'pause_reason')))
    await withQueue(client, keys.prefix, laneQueueName(lane), (queue) => queue.resume());
}

/**
 * How often each worker publishes the rate its gates use, and when a published rate is stale (its worker
 * stopped): `status`, the dashboard and Bull Board show the fleet's rates, not those of the process that asks.
 */
export const RATE_REFRESH_MS = 5000;
export const RATE_STALE_MS = 3 * RATE_REFRESH_MS;
/** A stale rate left by a worker that stopped is deleted by the next worker that publishes after this long. */
const RATE_FORGET_MS = 20 * RATE_REFRESH_MS;
const RATE_FIELD = 'rate:';

/** Requests per SEND_RATE_DURATION_MS this lane may send (before a 130429 slow-down). */
export function laneRateMax(
  config: Pick<Config, 'SENDER_RATES' | 'SENDER_RATE_MAX' | 'SEND_RATE_MAX'>,
  lane: string,
): number {
  return Math.min(config.SENDER_RATES[lane] ?? config.SENDER_RATE_MAX, config.SEND_RATE_MAX);
}

/** A lane's rate as the fleet's workers use it, or, when none has published one, this process's configuration. */
export interface LaneRate {
  /** Requests per window_ms (the highest when running workers are configured differently). */
  rate_max: number;
  window_ms: number;
  /** 'workers': published by the running workers; 'configuration': none runs, so this process's own settings. */
  rate_source: 'workers' | 'configuration';
  /** Worker processes that published a rate for this lane within RATE_STALE_MS. */
  workers: number;
}

/** How `status` and Bull Board mark a rate read from their own configuration (no worker has published one). */
export const NO_WORKER = 'configured here: no worker running';

/** Reads the rates the workers published in a lane's hash (fresh ones only), else falls back to `config`. */
export function laneRateOf(
  hash: Record<string, string>,
  config: Pick<Config, 'SENDER_RATES' | 'SENDER_RATE_MAX' | 'SEND_RATE_MAX' | 'SEND_RATE_DURATION_MS'>,
  lane: string,
  nowMs: number,
): LaneRate {
  let best: { max: number; windowMs: number } | undefined;
  let workers = 0;
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(RATE_FIELD)) continue;
    const [max, windowMs, at] = value.split('/').map(Number) as [number, number, number];
    if (!(nowMs - at <= RATE_STALE_MS) || !(max > 0) || !(windowMs > 0)) continue;
    workers++;
    if (!best || max / windowMs > best.max / best.windowMs) best = { max, windowMs };
  }
  return best
    ? { rate_max: best.max, window_ms: best.windowMs, rate_source: 'workers', workers }
    : {
        rate_max: laneRateMax(config, lane),
        window_ms: config.SEND_RATE_DURATION_MS,
        rate_source: 'configuration',
        workers: 0,
      };
}

/** Redis's clock in ms: published rates are stamped and judged by it, so machines' clocks do not matter. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** One lane's rate as the fleet uses it (see laneRateOf), and its hash (for its pause reason). */
export async function laneRate(
  redis: Redis,
  keys: Keys,
  config: Config,
  lane: string,
): Promise<{ rate: LaneRate; state: Record<string, string> }> {
  const [state, now] = await Promise.all([redis.hgetall(keys.lane(lane)), redisNow(redis)]);
  return { rate: laneRateOf(state, config, lane, now), state };
}

export interface LaneState extends LaneRate {
  from: string;
  /** The rate while a 130429 slow-down lasts (else rate_max). */
  rate_now: number;
  paused: boolean;
  pause_reason: string | null;
  waiting: number;
}

/** How long a 130429 slows a lane down, and by how much each time (it recovers by itself). */
export const SLOW_DOWN_MS = 60_000;
export const SLOW_DOWN_FACTOR = 0.5;
const MIN_SLOW_FACTOR = 0.1;

export class Lanes {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: Config,
  ) {}

  /** Every lane the fleet has seen, the default lane first. */
  list(): Promise<string[]> {
    return laneNames(this.redis, this.keys);
  }

  /** A short-lived Queue handle of a lane (for counts); closed after `fn`. */
  private withQueue<T>(lane: string, fn: (queue: Queue<SendJobData>) => Promise<T>): Promise<T> {
    return withQueue(this.redis, this.config.QUEUE_PREFIX, laneQueueName(lane), fn);
  }

  /**
   * A worker's rates, as its gates use them (lane → requests per windowMs), stamped with Redis's clock so
   * that readers can tell when it stopped; stale rates of workers long gone are deleted on the way.
   */
  async publishRates(worker: string, rates: ReadonlyMap<string, number>, windowMs: number): Promise<void> {
    const now = await redisNow(this.redis);
    const read = this.redis.pipeline();
    for (const lane of rates.keys()) read.hgetall(this.keys.lane(lane));
    const hashes = (await read.exec()) ?? [];
    const write = this.redis.pipeline();
    let i = 0;
    for (const [lane, max] of rates) {
      const key = this.keys.lane(lane);
      const hash = (hashes[i++]?.[1] ?? {}) as Record<string, string>;
      for (const [field, value] of Object.entries(hash))
        if (field.startsWith(RATE_FIELD) && !(now - Number(value.split('/')[2]) <= RATE_FORGET_MS))
          write.hdel(key, field);
      write.hset(key, `${RATE_FIELD}${worker}`, `${max}/${windowMs}/${now}`);
    }
    await write.exec();
  }

  /** 130429 (throughput exceeded at Meta): halve the lane's rate for SLOW_DOWN_MS, again on each repeat. */
  async slowDown(lane: string): Promise<number> {
    const key = this.keys.lane(lane);
    const [factor, until] = await this.redis.hmget(key, 'slow_factor', 'slow_until');
    const current = until && Number(until) > Date.now() ? Number(factor ?? 1) : 1;
    const next = Math.max(MIN_SLOW_FACTOR, current * SLOW_DOWN_FACTOR);
    await this.redis.hset(key, 'slow_factor', next, 'slow_until', Date.now() + SLOW_DOWN_MS);
    return next;
  }

  /** Every lane's state, and the job counts of every lane's queue (summed for `status`'s queue line). */
  async states(): Promise<{
    lanes: LaneState[];
    counts: Record<'waiting' | 'active' | 'delayed' | 'completed' | 'failed', number>;
  }> {
    const totals = { waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 };
    const now = await redisNow(this.redis);
    const lanes = await Promise.all(
      (await this.list()).map(async (lane): Promise<LaneState> => {
        const [state, [counts, paused]] = await Promise.all([
          this.redis.hgetall(this.keys.lane(lane)),
          this.withQueue(lane, (queue) =>
            Promise.all([
              queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
              queue.isPaused(),
            ]),
          ),
        ]);
        const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
        totals.waiting += waiting;
        totals.active += counts.active ?? 0;
        totals.delayed += counts.delayed ?? 0;
        totals.completed += counts.completed ?? 0;
        totals.failed += counts.failed ?? 0;
        const rate = laneRateOf(state, this.config, lane, now);
        const slowed = state.slow_until && Number(state.slow_until) > Date.now() ? Number(state.slow_factor ?? 1) : 1;
        return {
          from: lane,
          rate_max: rate.rate_max,
          rate_now: Math.max(1, Math.floor(rate.rate_max * slowed)),
          window_ms: rate.window_ms,
          rate_source: rate.rate_source,
          workers: rate.workers,
          paused,
          pause_reason: paused ? (state.pause_reason ?? null) : null,
          waiting: waiting + (counts.delayed ?? 0),
        };
      }),
    );
    return { lanes, counts: totals };
  }

  /** MESSAGING_LIMIT now (auto: the latest phone_number_update's tier), the places used and the messages held. */
  async messagingLimit(): Promise<{ limit: number | 'unlimited'; used: number; held: number }> {
    const since = Date.now() - this.config.MESSAGING_WINDOW_MS;
    const [auto, used, held] = await Promise.all([
      this.redis.hget(this.keys.control, 'messaging_limit'),
      this.redis.zcount(this.keys.tier, since, '+inf'),
      this.redis.zcount(this.keys.tierHeld, since, '+inf'),
    ]);
    const configured = this.config.MESSAGING_LIMIT;
    const limit = configured === 'auto' ? (auto === null || Number(auto) < 0 ? 'unlimited' : Number(auto)) : configured;
    return { limit, used, held };
  }
}
