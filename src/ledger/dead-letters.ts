import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import type { Ledger } from './ledger.js';
import { formatIssues } from '../messages/validate.js';
import { jobIdFor, type DeadError, type DeadJobData, type SendJobData } from '../queue.js';

/**
 * The dead-letter queue: a BullMQ queue no worker consumes, one job per dead message (job id =
 * jobIdFor(request_id)), so operators see them in Bull Board and can replay them under their original request_id.
 */

export interface DeadFilter {
  campaign?: string | undefined;
  code?: number | undefined;
  reason?: string | undefined;
}

/**
 * Dead-letters a message: 'dead', or 'sent' when the ledger has it as sent after all (a status callback
 * proved that EngageLab accepted it while this worker was deciding: its answer was lost), which leaves no
 * dead letter.
 */
export async function deadLetter(
  dead: Queue<DeadJobData>,
  ledger: Ledger,
  data: SendJobData,
  error: DeadError,
  attempts: number,
): Promise<'dead' | 'sent'> {
  // Queue first, ledger second: if we die in between, the send job is retried and ends here again.
  await dead.add('dead', { ...data, error, attempts, died_at: Date.now() }, { jobId: jobIdFor(data.request_id) });
  if (await ledger.markDead(data.request_id, data.campaign, error)) return 'dead';
  // Unchanged: dead already (a job that died twice), or sent. The callback that made it sent drops the dead
  // letter after its script, which may have come before the add above: drop it here too.
  if ((await ledger.get(data.request_id))?.status !== 'sent') return 'dead';
  await dropDeadLetter(dead, data.request_id);
  return 'sent';
}

/** Drops a message's dead letter, if it has one (the message turned out sent). */
export async function dropDeadLetter(dead: Queue<DeadJobData>, requestId: string): Promise<void> {
  await dead.remove(jobIdFor(requestId));
}

/**
 * What a dead letter must hold for the commands to act on it: wa-bulk writes only such, but the queue is a
 * plain BullMQ queue, and a job put there by hand or by another tool (Bull Board's add, a Redis client) may
 * hold anything. Such a one is skipped and reported, never a reason to stop.
 */
const deadLetterShape = z.looseObject({
  request_id: z.string().min(1),
  campaign: z.string().min(1),
  payload: z.looseObject({ to: z.array(z.string()).min(1) }),
  error: z.looseObject({
    code: z.number().nullable(),
    http_status: z.number().nullable(),
    reason: z.string(),
    message: z.string(),
  }),
  attempts: z.number(),
  died_at: z.number(),
});

/** A job of the dead-letter queue that is not a dead letter wa-bulk wrote: its id and what is wrong with it. */
export interface MalformedDeadLetter {
  id: string;
  problem: string;
}

/** Why a job's data is not a dead letter, or undefined when it is one. */
export function deadLetterProblem(data: unknown): string | undefined {
  const parsed = deadLetterShape.safeParse(data);
  return parsed.success ? undefined : formatIssues(parsed.error.issues);
}

/** The one line the commands print for a malformed dead letter. */
export function describeMalformed(m: MalformedDeadLetter, what: string): string {
  return `dead letter "${m.id}" is not one wa-bulk wrote (${m.problem}): ${what}`;
}

/** A dead letter as `dlq list --json` prints it and GET /api/dead-letters lists it. */
export function deadLetterEntry(data: DeadJobData) {
  return {
    request_id: data.request_id,
    campaign: data.campaign,
    to: data.payload.to[0],
    error: data.error,
    attempts: data.attempts,
    died_at: new Date(data.died_at).toISOString(),
  };
}

export interface DeadLetterReading {
  /** Called for each job that is not a well-formed dead letter (it is not yielded). */
  onMalformed?: (malformed: MalformedDeadLetter) => void;
  pageSize?: number;
}

function matches(job: Job<DeadJobData>, filter: DeadFilter): boolean {
  const data = job.data;
  if (filter.campaign !== undefined && data.campaign !== filter.campaign) return false;
  if (filter.code !== undefined && data.error.code !== filter.code) return false;
  if (filter.reason !== undefined && data.error.reason !== filter.reason) return false;
  return true;
}

/** Dead letters matching the filter, read in pages; a malformed one is passed to `onMalformed` instead. */
export async function* deadLetters(
  dead: Queue<DeadJobData>,
  filter: DeadFilter = {},
  { onMalformed, pageSize = 500 }: DeadLetterReading = {},
): AsyncGenerator<Job<DeadJobData>> {
  // New dead letters are pushed at the head of the list while we page through it, shifting the pages;
  // skip a job already seen in an earlier page.
  const seen = new Set<string>();
  for (let start = 0; ; start += pageSize) {
    const jobs = await dead.getJobs(['wait'], start, start + pageSize - 1, true);
    if (jobs.length === 0) return;
    for (const job of jobs) {
      if (!job?.id || seen.has(job.id)) continue;
      seen.add(job.id);
      const problem = deadLetterProblem(job.data);
      if (problem !== undefined) onMalformed?.({ id: job.id, problem });
      else if (matches(job, filter)) yield job;
    }
    if (jobs.length < pageSize) return;
  }
}

/** Why a replay of a cancelled campaign's dead letters is refused (the CLI and the API say the same). */
export function replayRefusal(campaign: string): string {
  return `campaign "${campaign}" is cancelled: its dead letters are not replayed (they would only end skipped) and stay in the dead-letter queue`;
}

export interface ReplayResult {
  /**
   * Set when the filter names a cancelled campaign: nothing was replayed and its dead letters stay (a replayed
   * letter of a cancelled campaign would only end skipped, and its dead letter would be gone).
   */
  refused?: { campaign: string; state: 'cancelled' };
  replayed: number;
  /** Dead letters that matched but were left out, for either reason below. */
  leftOut: number;
  /** Of leftOut, why: unknown_outcome (not asked for by --reason), campaign_cancelled (their campaign is). */
  leftOutBy: { unknown_outcome: number; campaign_cancelled: number };
  /** Dead letters of messages the ledger has as sent (a status callback reported them): dropped, not resent. */
  alreadySent: number;
  /** Jobs of the queue that are not dead letters wa-bulk wrote: left as they are. */
  malformed: MalformedDeadLetter[];
}

/**
 * Sends matching dead letters again under their original request_id. An unknown_outcome dead letter may
 * already have reached its recipient (EngageLab does not de-duplicate on request_id), so it is replayed only
 * when the filter names that reason; otherwise it is counted in `leftOut`. The ledger is asked first: a
 * message it has as sent (EngageLab reported it in a status callback) is never resent, its dead letter goes.
 * A cancelled campaign's dead letters are never replayed (they would end skipped and be lost from the queue):
 * a filter naming one is refused, and among several campaigns' they are left out and counted.
 */
export async function replayDeadLetters(
  dead: Queue<DeadJobData>,
  send: Queue<SendJobData>,
  ledger: Ledger,
  filter: DeadFilter,
): Promise<ReplayResult> {
  const picked: Job<DeadJobData>[] = [];
  const sent: Job<DeadJobData>[] = [];
  const malformed: MalformedDeadLetter[] = [];
  const leftOutBy = { unknown_outcome: 0, campaign_cancelled: 0 };
  const cancelled = new Map<string, boolean>();
  const isCancelled = async (campaign: string) => {
    if (!cancelled.has(campaign)) cancelled.set(campaign, (await ledger.campaign(campaign))?.state === 'cancelled');
    return cancelled.get(campaign) === true;
  };
  if (filter.campaign !== undefined && (await isCancelled(filter.campaign)))
    return {
      refused: { campaign: filter.campaign, state: 'cancelled' },
      replayed: 0,
      leftOut: 0,
      leftOutBy,
      alreadySent: 0,
      malformed,
    };
  const isSent = async (job: Job<DeadJobData>) => (await ledger.get(job.data.request_id))?.status === 'sent';
  for await (const job of deadLetters(dead, filter, { onMalformed: (m) => malformed.push(m) })) {
    if (await isSent(job)) sent.push(job);
    else if (await isCancelled(job.data.campaign)) leftOutBy.campaign_cancelled++;
    else if (job.data.error.reason === 'unknown_outcome' && filter.reason !== 'unknown_outcome')
      leftOutBy.unknown_outcome++;
    else picked.push(job);
  }
  let replayed = 0;
  for (const job of picked) {
    const { request_id, campaign, payload } = job.data;
    // Not revived: it may have become sent since it was read (a callback), and then it is not resent.
    if (!(await ledger.revive(request_id, campaign)) && (await isSent(job))) {
      sent.push(job);
      continue;
    }
    await send.add('send', { request_id, campaign, payload }, { jobId: jobIdFor(request_id) });
    await job.remove();
    replayed++;
  }
  for (const job of sent) await job.remove();
  const leftOut = leftOutBy.unknown_outcome + leftOutBy.campaign_cancelled;
  return { replayed, leftOut, leftOutBy, alreadySent: sent.length, malformed };
}

export interface PurgeResult {
  purged: number;
  /** Jobs that are not dead letters wa-bulk wrote: dropped too when no filter was given, else left. */
  malformed: MalformedDeadLetter[];
  malformedDropped: boolean;
}

/**
 * Drops matching dead letters from the queue; the ledger keeps their record. Without a filter it empties the
 * queue, malformed jobs included (nothing else can drop them: Bull Board is read-only); with one, a malformed
 * job matches nothing and stays.
 */
export async function purgeDeadLetters(dead: Queue<DeadJobData>, filter: DeadFilter): Promise<PurgeResult> {
  const everything = filter.campaign === undefined && filter.code === undefined && filter.reason === undefined;
  const picked: Job<DeadJobData>[] = [];
  const malformed: MalformedDeadLetter[] = [];
  for await (const job of deadLetters(dead, filter, { onMalformed: (m) => malformed.push(m) })) picked.push(job);
  for (const job of picked) await job.remove();
  if (everything) for (const m of malformed) await dead.remove(m.id);
  return { purged: picked.length, malformed, malformedDropped: everything };
}
