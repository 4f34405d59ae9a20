import type { Ledger } from '../src/ledger/ledger.js';
import type { Preflight } from '../src/preflight/preflight.js';
import { CostTally, estimate, type Rate } from '../src/preflight/cost.js';
import { EnqueueVerdict } from '../src/scripts/index.js';
import type { CreatedMessage } from '../src/telemetry/enqueue-spans.js';
import type { SendJobData } from '../src/queue.js';

/**
 * What an enqueue notes beside the messages it writes: each written message's trace, the template messages
 * counted by country and category for the cost estimate, and the campaign's estimate at the end. Each note
 * reads a chunk as the enqueue script saw it: the messages grouped by lane, and one verdict per message in
 * the same order.
 */

/** One message to one recipient, as the ledger's enqueue script takes it. */
export interface Pending {
  /** Its line in the input (a line with several recipients gives several). */
  line: number;
  requestId: string;
  to: string;
  data: SendJobData;
  /** Its create span, while tracing is on. */
  traced?: CreatedMessage;
}

/** Ends the chunk's create spans with their verdicts, and keeps the trace of each message written in its record. */
export async function noteTraces(ledger: Ledger, groups: Pending[][], results: EnqueueVerdict[][]): Promise<void> {
  const written: Array<{ requestId: string; traceparent: string }> = [];
  groups.forEach((group, i) =>
    group.forEach((pending, j) => {
      const verdict = results[i]?.[j];
      if (pending.traced && verdict !== undefined && pending.traced.written(verdict))
        written.push({ requestId: pending.requestId, traceparent: pending.traced.traceparent });
    }),
  );
  await ledger.noteTraces(written);
}

/** Counts the template messages written (new, or pending again) by country and category. */
export function tallyCost(
  cost: CostTally,
  preflight: Preflight | undefined,
  groups: Pending[][],
  results: EnqueueVerdict[][],
): void {
  groups.forEach((group, i) =>
    group.forEach((pending, j) => {
      const verdict = results[i]?.[j];
      const body = pending.data.payload.body;
      if (body.type !== 'template' || (verdict !== EnqueueVerdict.New && verdict !== EnqueueVerdict.Requeued)) return;
      cost.add(pending.to, preflight?.categoryOf(body.template.name, body.template.language));
    }),
  );
}

/**
 * The template messages an enqueue wrote for the first time, by '<country>:<category>' (a requeued one was
 * counted when it was new), for the campaign's cost (Ledger.noteEnqueued).
 */
export function newTemplates(
  preflight: Preflight | undefined,
  groups: Pending[][],
  results: EnqueueVerdict[][],
): Map<string, number> {
  const tally = new CostTally();
  groups.forEach((group, i) =>
    group.forEach((pending, j) => {
      const body = pending.data.payload.body;
      if (body.type === 'template' && results[i]?.[j] === EnqueueVerdict.New)
        tally.add(pending.to, preflight?.categoryOf(body.template.name, body.template.language));
    }),
  );
  return tally.fields();
}

/**
 * Keeps on the campaign the estimate of all its template messages so far (counted by newTemplates), priced
 * with the rate card as of `at` (the campaign's start, or now).
 */
export async function noteCostEstimate(ledger: Ledger, campaign: string, rateCard: Rate[], at: number): Promise<void> {
  const templates = (await ledger.campaign(campaign))?.cost?.templates;
  if (templates && templates.messages > 0)
    await ledger.noteCostEstimate(campaign, estimate(templates.by_country, rateCard, at));
}
