import { Queue, QueueKeys, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeadReason } from './ledger/reasons.js';
import type { Config } from './config.js';
import type { CallbackRow } from './engagelab/callbacks.js';
import type { SendPayload } from './engagelab/client.js';

/**
 * The one definition of wa-bulk's queues: their names (one send queue per sender lane), the job payloads, job
 * ids, job options, and the one function that opens a queue. The Redis key layout is src/redis/keys.ts, the
 * connections src/redis/connection.ts.
 */

export const SEND_QUEUE = 'send';
export const DEAD_QUEUE = 'dead';
export const CALLBACK_QUEUE = 'callbacks';
export const WEBHOOK_QUEUE = 'webhooks';
/** Follow-up rules come due here: one delayed job per rule, its job id the rule's id (workers/followup-worker.ts). */
export const FOLLOWUP_QUEUE = 'followups';

/**
 * Sender lanes: every sending number has its own send queue (src/lanes/lanes.ts says why).
 *   lane    the message's `from` (digits), else WA_FROM, else "default" (EngageLab's default number)
 *   queue   "send" for the default lane, "send-<number>" for the others
 */
export const DEFAULT_LANE = 'default';

export function laneOf(from: string | undefined, waFrom: string | undefined): string {
  return from ?? waFrom ?? DEFAULT_LANE;
}

export function laneQueueName(lane: string): string {
  return lane === DEFAULT_LANE ? SEND_QUEUE : `${SEND_QUEUE}-${lane}`;
}

/** The lane of a send queue's name, or undefined for another queue. */
export function laneOfQueue(name: string): string | undefined {
  if (name === SEND_QUEUE) return DEFAULT_LANE;
  return name.startsWith(`${SEND_QUEUE}-`) ? name.slice(SEND_QUEUE.length + 1) : undefined;
}

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
  if (requestId.includes(':') || /^\d+$/.test(requestId) || QUEUE_KEY_NAMES.has(requestId))
    return `%${requestId.replaceAll(':', '%3A')}`;
  return requestId;
}

/** The request_id whose job id this is (jobIdFor's inverse). */
export function requestIdOfJob(jobId: string): string {
  return jobId.startsWith('%') ? jobId.slice(1).replaceAll('%3A', ':') : jobId;
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
  /** The W3C traceparent of the message's `create` span, only while tracing is on (src/telemetry/traces.ts). */
  trace?: string;
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

export interface DeadError {
  code: number | null;
  http_status: number | null;
  reason: DeadReason;
  message: string;
}
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
 * BullMQ's event stream per queue: wa-bulk reads none of it (the ledger is its record), so a queue keeps the
 * latest 1,000 events instead of BullMQ's 10,000 (about 300 B each). Every Queue wa-bulk opens passes this:
 * BullMQ writes the length into the queue's meta as each Queue starts, and the last one wins.
 */
export const QUEUE_STREAMS = { events: { maxLen: 1000 } };

/**
 * The callback queue's jobs: a batch that fails to apply (Redis gone) is tried again from where it stopped
 * (workers/callback-worker.ts), then kept for a look, but briefly: a batch is up to 1 MiB of phone numbers and
 * custom_args, so the latest 100 failed ones are kept for an hour at most, and a completed one not at all.
 */
export const CALLBACK_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: true,
  removeOnFail: { age: 3600, count: 100 },
};

/** A campaign.done webhook: tried for about 40 minutes (10 attempts from 5 s, doubling), then kept for a look. */
export const WEBHOOK_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 5000 },
  removeOnComplete: true,
  removeOnFail: { count: 1000 },
};

/** A follow-up rule's job: evaluated when it comes due. */
export interface FollowupJob {
  followup: string;
}

/**
 * A follow-up's evaluation: tried again from the start if it fails (Redis gone), which enqueues nothing twice
 * (its messages' request_ids are derived from the rule and the source message). It does not give up: a rule
 * left `evaluating` with no job to finish it would send nothing and could only be cancelled, so it is tried
 * again after FOLLOWUP_BACKOFF's waits, 5 s doubling up to 5 minutes, until it is done or cancelled.
 */
export const FOLLOWUP_JOB_OPTIONS: JobsOptions = {
  attempts: 1_000_000,
  backoff: { type: 'followup' },
  removeOnComplete: true,
  removeOnFail: { count: 100 },
};

/** The wait before a follow-up's evaluation is tried again after its `attemptsMade`-th failure (ms). */
export function followupBackoff(attemptsMade: number): number {
  return Math.min(5000 * 2 ** Math.min(Math.max(attemptsMade - 1, 0), 10), 300_000);
}

/**
 * Opens a queue of wa-bulk. Every Queue handle comes from here, so each carries the same event-stream bound
 * (QUEUE_STREAMS) and the prefix; the caller closes it.
 */
export function openQueue<T>(
  connection: Redis,
  prefix: string,
  name: string,
  defaultJobOptions?: JobsOptions,
): Queue<T> {
  return new Queue<T>(name, {
    streams: QUEUE_STREAMS,
    connection,
    prefix,
    ...(defaultJobOptions && { defaultJobOptions }),
  });
}

/**
 * A handle of one queue for one piece of work, closed by the caller after it. A Queue re-emits every error of
 * its connection, and BullMQ prints those raw on stderr when nobody listens: here they are dropped, since a
 * failed command rejects the work's own call, and the connection itself is watched by its owner (RedisHealth
 * in a long-running process).
 */
export function briefQueue<T>(connection: Redis, prefix: string, name: string): Queue<T> {
  const queue = openQueue<T>(connection, prefix, name);
  queue.on('error', () => {});
  return queue;
}

/** A short-lived handle of one queue for `fn`, closed after it. */
export async function withQueue<T, R>(
  connection: Redis,
  prefix: string,
  name: string,
  fn: (queue: Queue<T>) => Promise<R>,
): Promise<R> {
  const queue = briefQueue<T>(connection, prefix, name);
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

/** The default lane's send queue, with the send job options (BullMQ attempts and backoff). */
export function sendQueue(config: Config, connection: Redis): Queue<SendJobData> {
  return openQueue<SendJobData>(connection, config.QUEUE_PREFIX, SEND_QUEUE, sendJobOptions(config));
}

export function deadQueue(config: Config, connection: Redis): Queue<DeadJobData> {
  return openQueue<DeadJobData>(connection, config.QUEUE_PREFIX, DEAD_QUEUE, { removeOnComplete: true });
}
