import type { Queue } from 'bullmq';
import { formatWindow, type CampaignOptions } from '../src/campaigns/options.js';
import { laneOf, laneQueueName } from '../src/queue.js';
import { EnqueueSpans } from '../src/telemetry/enqueue-spans.js';
import type { Preflight } from '../src/preflight/preflight.js';
import type { CostSummary, CostTally, Rate } from '../src/preflight/cost.js';
import { timeZoneOf } from '../src/messages/timezone.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { REJECTS_KEPT, type RejectedLine } from '../src/ledger/rejects.js';
import { EnqueueVerdict } from '../src/scripts/index.js';
import { requestIdsFor } from '../src/messages/request-ids.js';
import { validateMessage } from '../src/messages/validate.js';
import type { SendJobData } from '../src/queue.js';
import { assertEnqueueable } from './campaign-open.js';
import { newTemplates, noteCostEstimate, noteTraces, tallyCost, type Pending } from './enqueue-notes.js';

/**
 * The producer core shared by the command line, the HTTP API and library callers: validate each item,
 * give it its request_ids (one job per recipient), and write ledger entries and jobs in chunks, one Lua
 * script per chunk that also de-duplicates against the ledger. A bad item is reported with its line
 * number and never stops the valid ones; it is also counted in its campaign's `rejected`, and the first
 * ones kept with it (src/ledger/rejects.ts), unless this is a dry run.
 */

/** One input record: a parsed value, or the reason it could not be parsed. Lines count from 1. */
export interface SourceItem {
  line: number;
  value?: unknown;
  error?: string;
}

export interface Reject {
  line: number;
  error: string;
}

/** A message the ledger already holds, the same again: not enqueued, and harmless (docs/campaigns.md). */
export interface Duplicate {
  line: number;
  request_id: string;
}

/** The `enqueue --json` shape (docs/cli.md), plus `rejects_truncated` when rejects were capped. */
export interface EnqueueSummary {
  campaign: string;
  accepted: number;
  rejected: number;
  duplicates: number;
  /** Each duplicate's line, while there are any (as many as rejects are kept). */
  duplicate_lines?: Duplicate[];
  /** Messages to a suppressed (opted-out) number: not enqueued. */
  suppressed: number;
  rejects: Reject[];
  rejects_truncated?: boolean;
  /** With preflight: what could not be checked, by line (a reject with --strict). */
  warnings?: Array<{ line: number; warning: string }>;
  /** `check` and `enqueue --dry-run`: template messages by country and category, and the estimate. */
  cost?: CostSummary;
}

export interface EnqueueOptions {
  campaign: string;
  ledger: Ledger;
  /** The send queue (same QUEUE_PREFIX as the ledger); its default job options are every job's options. */
  queue: Queue<SendJobData>;
  /** WA_FROM: the lane of messages without a `from`. */
  waFrom?: string | undefined;
  /** Campaign control: schedule, send window, expiry, priority. */
  control?: CampaignOptions;
  /**
   * Counts each template message written (or, in a dry run, that would be) by recipient country and by its
   * template's category as the preflight looked it up.
   */
  cost?: CostTally;
  /**
   * RATE_CARD_FILE's rates: after a real enqueue the campaign's estimate (of all its template messages so far)
   * is kept on it.
   */
  rateCard?: Rate[];
  /** A preflight that has run (see scan()): its rejects and warnings apply to each message. */
  preflight?: Preflight;
  onWarning?: (warning: { line: number; warning: string }) => void;
  dryRun?: boolean;
  chunkSize?: number;
  /** At most this many rejects are kept for the summary (all are counted and passed to onReject). */
  maxRejectsKept?: number;
  onReject?: (reject: Reject) => void;
  onProgress?: (summary: EnqueueSummary, linesRead: number) => void;
}

/** Enqueues the source's messages into the campaign (CampaignClosedError, with nothing read, for a cancelled one). */
export async function enqueue(
  source: AsyncIterable<SourceItem> | Iterable<SourceItem>,
  options: EnqueueOptions,
): Promise<EnqueueSummary> {
  await assertEnqueueable(options.ledger, options.campaign);
  const spans = EnqueueSpans.start(options.campaign, options.dryRun);
  if (!spans) return enqueueAll(source, options);
  const summary = await enqueueAll(source, options, spans).catch((error: unknown) => {
    spans.end({ accepted: 0, rejected: 0, duplicates: 0, suppressed: 0 }, error);
    throw error;
  });
  spans.end(summary);
  return summary;
}

/** The summary of an enqueue that has taken nothing (yet). */
export const nothingTaken = (campaign: string): EnqueueSummary => ({
  campaign,
  accepted: 0,
  rejected: 0,
  duplicates: 0,
  suppressed: 0,
  rejects: [],
});

async function enqueueAll(
  source: AsyncIterable<SourceItem> | Iterable<SourceItem>,
  options: EnqueueOptions,
  spans?: EnqueueSpans,
): Promise<EnqueueSummary> {
  const { campaign, ledger, queue } = options;
  const chunkSize = options.chunkSize ?? 1000;
  const maxKept = options.maxRejectsKept ?? 10_000;
  const summary: EnqueueSummary = { ...nothingTaken(campaign), ...(options.preflight && { warnings: [] }) };
  const control = options.control;
  const settings = control ? controlSettings(control) : {};
  let linesRead = 0;
  let chunk: Pending[] = [];

  // Rejected lines not yet recorded with the campaign; once it keeps REJECTS_KEPT, only their count.
  const enqueuedAt = new Date().toISOString();
  let unrecorded: RejectedLine[] = [];
  let unrecordedCount = 0;
  let keepMore = true;
  const recordRejects = async () => {
    if (unrecordedCount === 0) return;
    const [lines, count] = [unrecorded, unrecordedCount];
    unrecorded = [];
    unrecordedCount = 0;
    keepMore = (await ledger.rejects.record(campaign, lines, count, ledger.ttlSeconds)) < REJECTS_KEPT;
  };

  const reject = (line: number, error: string) => {
    summary.rejected++;
    const entry = { line, error };
    if (summary.rejects.length < maxKept) summary.rejects.push(entry);
    else summary.rejects_truncated = true;
    if (!options.dryRun) {
      unrecordedCount++;
      if (keepMore && unrecorded.length < REJECTS_KEPT) unrecorded.push({ line, error, enqueued_at: enqueuedAt });
    }
    options.onReject?.(entry);
  };

  // A request_id that names another message: the reject says which campaign holds it (the ledger's record;
  // the one of a message earlier in this same enqueue is this campaign's) and what differs.
  const conflict = async (pending: Pending, verdict: EnqueueVerdict) => {
    let what: string = `campaign ${campaign}, ${verdict === EnqueueVerdict.OtherRecipient ? 'to another recipient' : 'with other content'}`;
    if (verdict === EnqueueVerdict.OtherCampaign) {
      const held = await ledger.get(pending.requestId);
      what = `campaign ${held?.campaign ?? '(gone since)'}${held && held.to !== pending.to ? ', to another recipient' : ''}`;
    }
    return `request_id "${pending.requestId}" is already used by another message (${what}); give this one a request_id of its own`;
  };

  const jobOptions = { name: 'send', options: queue.defaultJobOptions };
  const write = async (batch: Pending[]) => {
    // One script call per sender lane in the chunk (a campaign usually has one).
    const byLane = new Map<string, Pending[]>();
    for (const pending of batch) {
      const lane = laneOf(pending.data.payload.from, options.waFrom);
      const group = byLane.get(lane);
      if (group) group.push(pending);
      else byLane.set(lane, [pending]);
    }
    const [results] = await Promise.all([
      Promise.all(
        [...byLane].map(([lane, group]) =>
          ledger.enqueue(campaign, lane, group, jobOptions, options.dryRun, { priority: control?.priority, settings }),
        ),
      ),
      options.dryRun ? undefined : ledger.noteTemplates(batch.map((p) => p.data.payload.body)),
      options.dryRun ? undefined : ledger.noteOpen(campaign),
    ]).catch((error: unknown) => {
      for (const pending of batch) pending.traced?.failed(error);
      throw error;
    });
    if (spans) await noteTraces(ledger, [...byLane.values()], results);
    if (options.cost) tallyCost(options.cost, options.preflight, [...byLane.values()], results);
    if (!options.dryRun)
      await ledger.noteEnqueued(campaign, newTemplates(options.preflight, [...byLane.values()], results));
    const groups = [...byLane.values()];
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g] as Pending[];
      for (let i = 0; i < group.length; i++) {
        const pending = group[i] as Pending;
        const result = results[g]?.[i];
        if (result === EnqueueVerdict.Duplicate) {
          summary.duplicates++;
          const lines = (summary.duplicate_lines ??= []);
          if (lines.length < maxKept) lines.push({ line: pending.line, request_id: pending.requestId });
        } else if (result === EnqueueVerdict.Suppressed) summary.suppressed++;
        else if (CONFLICTS.has(result)) reject(pending.line, await conflict(pending, result as EnqueueVerdict));
        else summary.accepted++;
      }
    }
    options.onProgress?.(summary, linesRead);
  };
  // One chunk is written while the next one is parsed and validated; writes stay in order, so a
  // request_id repeated across chunks is still seen as a duplicate.
  let writing: Promise<void> = Promise.resolve();
  const flush = async () => {
    if (chunk.length === 0) return;
    const batch = chunk;
    chunk = [];
    await writing;
    writing = write(batch);
  };

  for await (const item of source) {
    linesRead++;
    if (unrecordedCount >= chunkSize) await recordRejects();
    if (item.error !== undefined) {
      reject(item.line, item.error);
      continue;
    }
    const result = validateMessage(item.value);
    if (!result.ok) {
      reject(item.line, result.error);
      continue;
    }
    const message = result.message;
    if (options.preflight) {
      const screened = options.preflight.screen(message);
      for (const warning of screened.warnings) {
        const entry = { line: item.line, warning };
        if ((summary.warnings ??= []).length < maxKept) summary.warnings.push(entry);
        options.onWarning?.(entry);
      }
      if (screened.reject !== undefined) {
        reject(item.line, screened.reject);
        continue;
      }
    }
    const ids = requestIdsFor(campaign, message);
    for (let i = 0; i < ids.length; i++) {
      const requestId = ids[i] as string;
      const to = message.to[i] as string;
      const window = control?.window ? { ...control.window, tz: (await timeZoneOf(to)) ?? 'UTC' } : undefined;
      const traced = spans?.created(requestId, laneQueueName(laneOf(message.from, options.waFrom)));
      chunk.push({
        line: item.line,
        requestId,
        to,
        ...(traced && { traced }),
        data: {
          request_id: requestId,
          campaign,
          ...(control?.notBefore !== undefined && { not_before: control.notBefore }),
          ...(control?.expiresAt !== undefined && { expires_at: control.expiresAt }),
          ...(window && { window }),
          payload: {
            ...(message.from !== undefined && { from: message.from }),
            to: [to],
            body: message.body,
            request_id: requestId,
            ...(message.custom_args !== undefined && { custom_args: message.custom_args }),
          },
          ...(traced && { trace: traced.traceparent }),
        },
      });
    }
    if (chunk.length >= chunkSize) await flush();
  }
  await flush();
  await writing;
  await recordRejects();
  // Conflicts are found as chunks are written, after later lines' parse errors: report in line order.
  summary.rejects.sort((a, b) => a.line - b.line);
  // With a card at hand, the estimate is made again from the campaign's stored counts, even when this enqueue
  // added none: an enqueue without a card since may have counted messages the last estimate did not cover.
  if (!options.dryRun && options.rateCard) {
    await noteCostEstimate(ledger, campaign, options.rateCard, control?.notBefore ?? Date.now());
  }
  return summary;
}

/** The verdicts of a request_id that already names another message: the line is rejected. */
const CONFLICTS: ReadonlySet<EnqueueVerdict | undefined> = new Set([
  EnqueueVerdict.OtherCampaign,
  EnqueueVerdict.OtherRecipient,
  EnqueueVerdict.OtherContent,
]);

/** The campaign's control settings, as kept in its hash for `status` and the campaigns page. */
function controlSettings(control: CampaignOptions): Record<string, string> {
  return {
    priority: control.priority,
    ...(control.notBefore !== undefined && { at: String(control.notBefore) }),
    ...(control.expiresAt !== undefined && { expires_at: String(control.expiresAt) }),
    ...(control.window && { send_window: formatWindow(control.window) }),
  };
}

/**
 * Preflight's first pass: reads the source, notes what its valid messages refer to, and runs the checks
 * (invalid lines are left to the enqueue pass, which reports them). The source is read again to enqueue.
 */
export async function scan(
  source: AsyncIterable<SourceItem> | Iterable<SourceItem>,
  preflight: Preflight,
): Promise<void> {
  for await (const item of source) {
    if (item.error !== undefined) continue;
    const result = validateMessage(item.value);
    if (result.ok) preflight.collect(result.message);
  }
  await preflight.run();
}
