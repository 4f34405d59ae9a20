import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { script, type Arg } from './loader.js';

/** enqueue-messages.lua, per message. */
export const EnqueueVerdict = {
  New: 0,
  Duplicate: 1,
  /** In the ledger as pending but its job is gone (e.g. Redis restored from an older snapshot): enqueued again. */
  Requeued: 2,
  /** To a suppressed number (an opt-out): neither recorded nor enqueued. */
  Suppressed: 3,
  /**
   * Its request_id already names another message (of another campaign, to another recipient, or with other
   * content): neither recorded nor enqueued, and the stored message is left as it is.
   */
  OtherCampaign: 4,
  OtherRecipient: 5,
  OtherContent: 6,
} as const;
export type EnqueueVerdict = (typeof EnqueueVerdict)[keyof typeof EnqueueVerdict];

/**
 * Where a job goes in its queue (includes/bullmq-job.lua): the wait list in order, its head (taken next: BullMQ's
 * `lifo`), or the prioritized set with this priority (> 0, taken when none waits).
 */
export type JobPlacement = 'fifo' | 'lifo' | number;

export interface EnqueueKeys {
  /** The campaign's counters, its request_id list, and the campaign index. */
  campaign: string;
  campaignIds: string;
  campaigns: string;
  /** The lane's send queue, BullMQ's keys of it. */
  wait: string;
  meta: string;
  id: string;
  events: string;
  marker: string;
  active: string;
  prioritized: string;
  pc: string;
  /** The lane registry, the fleet's control hash, suppressed numbers. */
  lanes: string;
  control: string;
  suppressed: string;
}

export interface EnqueueMessage {
  /** The message record and its job hash. */
  messageKey: string;
  jobKey: string;
  requestId: string;
  /** The recipient. */
  to: string;
  jobId: string;
  /** The job's data (written as JSON; not at all in a dry run). */
  data: unknown;
  /**
   * Its payload's digest, recorded with the message (src/ledger/digest.ts), and compared with a stored message
   * of the same request_id to tell the same message again (a duplicate) from another one (a conflict).
   */
  digest: string;
  /** Its custom_args as JSON, kept in its record for its events; '' without. */
  args: string;
}

export interface EnqueueMessages {
  keys: EnqueueKeys;
  ttlSeconds: number;
  /** Epoch ms. */
  now: number;
  campaign: string;
  /** Write nothing: only tell what would happen. */
  dryRun: boolean;
  jobName: string;
  /** BullMQ's options of every job, but its id (each message's own) and its placement's (`lifo`, `priority`). */
  jobOptions: JobsOptions;
  lane: string;
  placement: JobPlacement;
  /** The campaign's settings, field → value for its hash. */
  settings: Readonly<Record<string, string>>;
  /** All of one lane. */
  messages: readonly EnqueueMessage[];
}

const call = script<EnqueueVerdict[]>('enqueue-messages');

/** The job options as BullMQ's Queue.add would store them for this placement, with an empty job id last. */
function placed(options: JobsOptions, placement: JobPlacement): JobsOptions {
  if (placement === 'fifo') return { ...options, jobId: '' };
  if (placement === 'lifo') return { ...options, lifo: true, jobId: '' };
  return { ...options, priority: placement, jobId: '' };
}

/**
 * Records the messages as pending and adds each one's send job in the same script (enqueue-messages.lua):
 * a verdict per message.
 */
export function enqueueMessages(client: Redis, input: EnqueueMessages): Promise<EnqueueVerdict[]> {
  const { keys: k, dryRun } = input;
  const keys = [
    k.campaign,
    k.campaignIds,
    k.campaigns,
    k.wait,
    k.meta,
    k.id,
    k.events,
    k.marker,
    k.active,
    k.prioritized,
    k.pc,
    k.lanes,
    k.control,
    k.suppressed,
  ];
  // BullMQ stores a job's options as JSON; they are the same for every job but its id, which the script
  // writes between these two halves.
  const options = JSON.stringify(placed(input.jobOptions, input.placement));
  const at = options.lastIndexOf('""');
  const argv: Arg[] = [
    input.ttlSeconds,
    input.now,
    input.campaign,
    dryRun ? '1' : '0',
    input.jobName,
    options.slice(0, at),
    options.slice(at + 2),
    input.lane,
    input.placement,
    JSON.stringify(input.settings),
  ];
  for (const m of input.messages) {
    keys.push(m.messageKey, m.jobKey);
    argv.push(m.requestId, m.to, m.jobId, dryRun ? '' : JSON.stringify(m.data), m.digest, m.args);
  }
  return call(client, keys, argv);
}
