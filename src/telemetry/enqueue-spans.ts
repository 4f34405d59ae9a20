import { ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { EnqueueVerdict } from '../scripts/enqueue-messages.js';
import { MESSAGING_SYSTEM, destinationOf, messagingAttributes } from './messaging.js';
import { SpanKind, recordFailure, startSpan, traceparentOf } from './traces.js';

/**
 * The producer's spans: one `enqueue` span per enqueue (a file, an HTTP request's batch), and one `create`
 * span per message, each the root of that message's own trace and LINKED to the enqueue span (not its
 * child): a campaign is not one huge trace, and each message's trace can be sampled on its own. A create
 * span ends once the message's chunk is written, with what the ledger made of it.
 */

const VERDICTS: Readonly<Record<EnqueueVerdict, string>> = {
  [EnqueueVerdict.New]: 'new',
  [EnqueueVerdict.Duplicate]: 'duplicate',
  [EnqueueVerdict.Requeued]: 'requeued',
  [EnqueueVerdict.Suppressed]: 'suppressed',
  [EnqueueVerdict.OtherCampaign]: 'conflict',
  [EnqueueVerdict.OtherRecipient]: 'conflict',
  [EnqueueVerdict.OtherContent]: 'conflict',
};

/** A message's create span, until its chunk is written. */
export interface CreatedMessage {
  /** Goes in the job's data and the ledger record. */
  traceparent: string;
  /** Its chunk was written: the verdict; true when the message's job was written (new or requeued). */
  written(verdict: EnqueueVerdict): boolean;
  /** Its chunk's write failed. */
  failed(error: unknown): void;
}

export class EnqueueSpans {
  private constructor(
    private readonly span: Span,
    private readonly campaign: string,
  ) {}

  /** Undefined while tracing is off, and for a dry run (nothing is written, so nothing is traced). */
  static start(campaign: string, dryRun: boolean | undefined): EnqueueSpans | undefined {
    if (dryRun) return undefined;
    const span = startSpan('enqueue', {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': MESSAGING_SYSTEM,
        'messaging.system.name': MESSAGING_SYSTEM,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'enqueue',
        'wa_bulk.campaign': campaign,
      },
    });
    return span && new EnqueueSpans(span, campaign);
  }

  /** A message about to be written to `queueName`. */
  created(requestId: string, queueName: string): CreatedMessage {
    const span = startSpan(`create ${destinationOf(queueName)}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...messagingAttributes('create', 'create', queueName, requestId),
        'wa_bulk.campaign': this.campaign,
      },
      links: [{ context: this.span.spanContext(), attributes: { 'wa_bulk.link': 'enqueue' } }],
      parent: ROOT_CONTEXT,
    }) as Span;
    return {
      traceparent: traceparentOf(span),
      written(verdict) {
        span.setAttribute('wa_bulk.enqueue.verdict', VERDICTS[verdict] ?? String(verdict));
        span.end();
        return verdict === EnqueueVerdict.New || verdict === EnqueueVerdict.Requeued;
      },
      failed(error) {
        recordFailure(span, error);
        span.end();
      },
    };
  }

  end(summary: { accepted: number; rejected: number; duplicates: number; suppressed: number }, error?: unknown): void {
    this.span.setAttributes({
      'messaging.batch.message_count': summary.accepted,
      'wa_bulk.enqueue.rejected': summary.rejected,
      'wa_bulk.enqueue.duplicates': summary.duplicates,
      'wa_bulk.enqueue.suppressed': summary.suppressed,
    });
    if (error !== undefined) recordFailure(this.span, error);
    this.span.end();
  }
}
