import type { JobsOptions } from 'bullmq';
import type { Priority } from '../campaigns/options.js';
import { REQUEST_ID_ARG } from '../messages/schema.js';
import { jobIdFor, laneQueueName, type SendJobData } from '../queue.js';
import * as scripts from '../scripts/index.js';
import { payloadDigest } from './digest.js';
import { PLACEMENT } from './placement.js';
import type { LedgerScope } from './scope.js';

/** A message the enqueue path records and gives a send job. */
export interface EnqueueItem {
  requestId: string;
  to: string;
  data: SendJobData;
}

/** A campaign's priority (where its jobs go in the lane's queue) and the settings its jobs carry. */
export interface EnqueueControl {
  priority?: Priority;
  settings?: Record<string, string>;
}

/** A message's own custom_args as its record keeps them: JSON, without wa-bulk's request_id; '' without any. */
function argsOf(args: Record<string, unknown> | undefined): string {
  if (!args) return '';
  const { [REQUEST_ID_ARG]: _ours, ...own } = args;
  return Object.keys(own).length > 0 ? JSON.stringify(own) : '';
}

/**
 * Records new messages as pending and adds their send jobs to their lane's queue, in one script
 * (enqueue-messages.lua). Tells for each message whether it is new, a duplicate (the same message again), pending
 * without a job (lost with a Redis restored from an older snapshot), which gets its job again, or refused
 * because its request_id already names another message. Only options BullMQ stores unchanged
 * may be given (attempts, backoff, removeOn*).
 */
export async function enqueueMessages(
  scope: LedgerScope,
  campaign: string,
  lane: string,
  items: readonly EnqueueItem[],
  job: { name: string; options: JobsOptions },
  dryRun: boolean,
  control: EnqueueControl,
): Promise<scripts.EnqueueVerdict[]> {
  if (items.length === 0) return [];
  const k = scope.keys;
  const queue = laneQueueName(lane);
  const messages: scripts.EnqueueMessage[] = [];
  for (const { requestId, to, data } of items) {
    const jobId = jobIdFor(requestId);
    messages.push({
      messageKey: k.message(requestId),
      jobKey: k.bullJob(queue, jobId),
      requestId,
      to,
      jobId,
      data,
      digest: payloadDigest(data.payload),
      args: argsOf(data.payload.custom_args),
    });
  }
  return scripts.enqueueMessages(scope.client, {
    keys: {
      campaign: k.campaign(campaign),
      campaignIds: k.campaignIds(campaign),
      campaigns: k.campaigns,
      wait: k.bull(queue, 'wait'),
      meta: k.bull(queue, 'meta'),
      id: k.bull(queue, 'id'),
      events: k.bull(queue, 'events'),
      marker: k.bull(queue, 'marker'),
      active: k.bull(queue, 'active'),
      prioritized: k.bull(queue, 'prioritized'),
      pc: k.bull(queue, 'pc'),
      lanes: k.lanes,
      control: k.control,
      suppressed: k.suppressed,
    },
    ttlSeconds: scope.ttlSeconds,
    now: Date.now(),
    campaign,
    dryRun,
    jobName: job.name,
    jobOptions: job.options,
    lane,
    placement: PLACEMENT[control.priority ?? 'normal'],
    settings: control.settings ?? {},
    messages,
  });
}
