import { Queue, QueueKeys, type JobsOptions } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import type { CallbackRow } from './ledger/delivery.js';
import type { SendPayload } from './engagelab/client.js';

/**
 * The one definition of wa-bulk's queues, job payload, Redis key layout and connections.
 * Every key starts with QUEUE_PREFIX; with a `{hash tag}` prefix (required with REDIS_CLUSTER_NODES) all of
 * them land in one Redis Cluster slot, which the scripts and BullMQ's rely on: every key a script touches is
 * in its KEYS.
 */

export const SEND_QUEUE = 'send';
export const DEAD_QUEUE = 'dead';
export const CALLBACK_QUEUE = 'callbacks';
export const WEBHOOK_QUEUE = 'webhooks';

/** A campaign.done notification to deliver to CAMPAIGN_WEBHOOK_URL. */
export interface WebhookJob {
  campaign: string;
}

/**
 * The BullMQ job id of a request_id. A request_id that BullMQ cannot take as a custom job id (all digits,
 * or containing ':'), or that is the name of one of the queue's own keys (`meta`, `wait`, `events`, ...),
 * would be refused or collide with that key; such a one gets `%` and its ':' written as `%3A`. No
 * request_id contains `%`, so the mapping is one to one; every other request_id is its own job id.
 */
const QUEUE_KEY_NAMES = new Set(Object.keys(new QueueKeys().getKeys('q')));
export function jobIdFor(requestId: string): string {
  if (requestId.includes(':') || /^\d+$/.test(requestId) || QUEUE_KEY_NAMES.has(requestId)) return `%${requestId.replaceAll(':', '%3A')}`;
  return requestId;
}

/** One job = one message to one recipient. The job id is jobIdFor(request_id). */
export interface SendJobData {
  request_id: string;
  campaign: string;
  payload: SendPayload;
  /** Campaign control (--at, --expires-*, --send-window): epoch ms, and the window in the recipient's zone. */
  not_before?: number;
  expires_at?: number;
  window?: { from: number; to: number; tz: string };
}

/** A dead letter: the job as it was, and why it died. The job id is jobIdFor(request_id). */
export interface DeadJobData extends SendJobData {
  error: DeadError;
  attempts: number;
  died_at: number;
}

/** One batch of EngageLab's status callbacks, as received (applied by workers/callback-worker.ts). */
export interface CallbackJob {
  rows: CallbackRow[];
  received_at: number;
}

export type DeadReason = 'permanent' | 'retries_exhausted' | 'unknown_outcome' | 'auth' | 'invalid';

export interface DeadError {
  code: number | null;
  http_status: number | null;
  reason: DeadReason;
  message: string;
}

export function keys(prefix: string) {
  return {
    prefix,
    message: (requestId: string) => `${prefix}:msg:${requestId}`,
    messageId: (messageId: string) => `${prefix}:mid:${messageId}`,
    /** Delivery rows that arrived before their message_id was recorded (kept an hour). */
    orphan: (messageId: string) => `${prefix}:orphan:${messageId}`,
    /** Template names (and name:language) enqueued recently, for template_update notifications. */
    templates: `${prefix}:templates`,
    campaign: (id: string) => `${prefix}:campaign:${id}`,
    campaignIds: (id: string) => `${prefix}:campaign:${id}:ids`,
    /** Jobs of a paused campaign that workers parked (src/campaigns/campaigns.ts). */
    campaignParked: (id: string) => `${prefix}:campaign:${id}:parked`,
    /** The campaign's latest delivery outcomes (1 failed, 0 delivered), for its quality guard. */
    campaignOutcomes: (id: string) => `${prefix}:campaign:${id}:outcomes`,
    campaigns: `${prefix}:campaigns`,
    /** With DATABASE_URL: the ledger's changes on their way to PostgreSQL (src/archive/archiver.ts). */
    archive: `${prefix}:archive`,
    /** Campaigns not yet reported done (src/campaigns/watch.ts). */
    campaignsOpen: `${prefix}:campaigns:open`,
    /**
     * BullMQ's own keys, needed where a script must see or add a job atomically with the ledger: a job's
     * hash by its job id (jobIdFor(request_id) for send jobs), and a queue's lists, hashes and streams.
     */
    bullJob: (queue: string, jobId: string) => `${prefix}:${queue}:${jobId}`,
    bull: (queue: string, name: 'wait' | 'meta' | 'id' | 'events' | 'marker' | 'active' | 'prioritized' | 'pc' | 'delayed') => `${prefix}:${queue}:${name}`,
    /** Opt-outs: normalised numbers that get no message (src/recipients/suppressions.ts). */
    suppressed: `${prefix}:suppressed`,
    limiterNext: `${prefix}:limiter:next`,
    /** Sender lanes (src/lanes/lanes.ts): the registry, each lane's state and its pace (TAT). */
    lanes: `${prefix}:lanes`,
    lane: (lane: string) => `${prefix}:lane:${lane}`,
    lanePace: (lane: string) => `${prefix}:lane:${lane}:next`,
    /** The last message from a lane to a recipient, for PAIR_INTERVAL_MS (expires by itself). */
    pair: (lane: string, to: string) => `${prefix}:pair:${lane}:${to}`,
    /** When a recipient last wrote (inbound messages), for SESSION_CHECK; expires after 24 h. */
    session: (to: string) => `${prefix}:session:${to}`,
    /** The messaging limit: recipients of template messages by their latest one (ms), and messages held by it. */
    tier: `${prefix}:tier`,
    tierHeld: `${prefix}:tier:held`,
    limiterGate: `${prefix}:limiter:gate`,
    breaker: `${prefix}:breaker`,
    breakerProbe: `${prefix}:breaker:probe`,
    control: `${prefix}:control`,
    /** Held by the process doing this round of housekeeping (src/ledger/housekeeping.ts). */
    housekeeping: `${prefix}:housekeeping`,
    /** The fleet's counters: each worker adds its own about once a second, /metrics reads them. */
    metrics: `${prefix}:metrics`,
  };
}
export type Keys = ReturnType<typeof keys>;

/** Job options of every send job: BullMQ attempts with exponential backoff, and no history kept in Redis. */
export function sendJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.SEND_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.SEND_BACKOFF_MS },
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/**
 * Every Redis connection of wa-bulk comes from here: a client of REDIS_URL, or with REDIS_CLUSTER_NODES a
 * Redis Cluster client, which follows MOVED and ASK redirections (slot moves, failovers) and retries TRYAGAIN
 * while a slot migrates. The cluster client answers the same commands, so the rest of the code takes either
 * as `Redis`. A cluster's credentials are REDIS_URL's user and password, when it has any.
 */
export function redisClient(config: Config, options: RedisOptions = {}): Redis {
  if (!config.REDIS_CLUSTER_NODES) return new Redis(config.REDIS_URL, options);
  const { retryStrategy, lazyConnect, ...redisOptions } = options;
  const url = new URL(config.REDIS_URL);
  const cluster = new Cluster(config.REDIS_CLUSTER_NODES, {
    ...(lazyConnect !== undefined && { lazyConnect }),
    ...(retryStrategy && { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null }),
    retryDelayOnMoved: 0,
    retryDelayOnTryAgain: 100,
    retryDelayOnClusterDown: 300,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      ...redisOptions,
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(url.password && { password: decodeURIComponent(url.password) }),
    },
  });
  return cluster as unknown as Redis;
}

/** Where wa-bulk's Redis is, for messages (no password). */
export function redisWhere(config: Config): string {
  return config.REDIS_CLUSTER_NODES ? `the Redis Cluster at ${config.REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',')}` : safeRedisUrl(config.REDIS_URL);
}

/** Workers block on Redis and must survive a restart of it: retry forever. */
export function workerConnection(config: Config, extra: RedisOptions = {}): Redis {
  return redisClient(config, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(200 * times, 5000),
    ...extra,
  });
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * Producers and short commands fail fast when Redis is down instead of hanging: a few connection
 * attempts, then a clear error naming the URL (without its password).
 */
export async function producerConnection(config: Config, extra: RedisOptions = {}): Promise<Redis> {
  const client = redisClient(config, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
    ...extra,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new RedisUnavailableError(`cannot reach Redis at ${redisWhere(config)}: ${(lastError ?? (error as Error)).message}`);
  }
  return client;
}

/** The URL without its password, for messages and logs. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(invalid URL)';
  }
}

/**
 * BullMQ's event stream per queue: wa-bulk reads none of it (the ledger is its record), so a queue keeps the
 * latest 1,000 events instead of BullMQ's 10,000 (about 300 B each). Every Queue wa-bulk opens passes this:
 * BullMQ writes the length into the queue's meta as each Queue starts, and the last one wins.
 */
export const QUEUE_STREAMS = { events: { maxLen: 1000 } };

export function sendQueue(config: Config, connection: Redis): Queue<SendJobData> {
  return new Queue<SendJobData>(SEND_QUEUE, { streams: QUEUE_STREAMS, connection, prefix: config.QUEUE_PREFIX, defaultJobOptions: sendJobOptions(config) });
}

export function deadQueue(config: Config, connection: Redis): Queue<DeadJobData> {
  return new Queue<DeadJobData>(DEAD_QUEUE, { streams: QUEUE_STREAMS, connection, prefix: config.QUEUE_PREFIX, defaultJobOptions: { removeOnComplete: true } });
}
