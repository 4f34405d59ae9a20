import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { Job } from 'bullmq';
import { MESSAGE_STATUSES, type CallbackRow } from '../src/engagelab/callbacks.js';
import type { Applied } from '../src/ledger/delivery-ledger.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { CALLBACK_QUEUE, type CallbackJob } from '../src/queue.js';
import { messagingAttributes } from '../src/telemetry/messaging.js';
import { SpanKind, inSpan, linkTo, startSpan, tracing } from '../src/telemetry/traces.js';

/**
 * The callback worker's spans (src/telemetry/traces.ts says when there are any): one `process callbacks`
 * span per batch (a trace of its own: a batch names many messages), and under it one `delivery` span per
 * status row, LINKED to the trace of the message it names. The link's target is the traceparent the
 * producer kept in the message's ledger record (Ledger.noteTraces); a message enqueued while tracing was
 * off has none, and its delivery span still names it by messaging.message.id (its request_id).
 */

/** One batch job. */
export function callbackBatchSpan<T>(job: Job<CallbackJob>, work: () => Promise<T>): Promise<T> {
  return inSpan(
    `process ${CALLBACK_QUEUE}`,
    {
      kind: SpanKind.CONSUMER,
      parent: ROOT_CONTEXT,
      attributes: {
        ...messagingAttributes('process', 'process', CALLBACK_QUEUE),
        'messaging.batch.message_count': Array.isArray(job.data.rows) ? job.data.rows.length : 0,
        'wa_bulk.attempt': job.attemptsMade + 1,
      },
    },
    work,
  );
}

/** A span per status row, once the rows are applied (`results` in the rows' order): what each did, to which message. */
export async function deliverySpans(
  ledger: Ledger,
  rows: readonly CallbackRow[],
  results: readonly Applied[],
): Promise<void> {
  if (!tracing() || rows.length === 0) return;
  const ids = rows.map((row) => row.message_id ?? '');
  const messages = await ledger.tracesOf(ids.filter(Boolean));
  let next = 0;
  rows.forEach((row, i) => {
    const message = ids[i] ? messages[next++] : undefined;
    const applied = results[i];
    // Only EngageLab's known values: a row's text is outside input.
    const status = row.status?.message_status;
    const link = linkTo(message?.traceparent, { 'wa_bulk.link': 'send' });
    const span = startSpan('delivery', {
      attributes: {
        'wa_bulk.delivery.status': status === undefined ? 'none' : MESSAGE_STATUSES.has(status) ? status : 'unknown',
        'wa_bulk.delivery.result': applied?.result ?? 'none',
        ...(message && { 'messaging.message.id': message.requestId, 'wa_bulk.campaign': message.campaign }),
        ...(applied?.update?.errorCode != null && { 'wa_bulk.delivery.error_code': applied.update.errorCode }),
      },
      ...(link && { links: [link] }),
    });
    span?.end();
  });
}
