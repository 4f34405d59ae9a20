import { DelayedError, WaitingError, type Job } from 'bullmq';
import type { SendJobData } from '../src/queue.js';
import { destinationOf, messagingAttributes } from '../src/telemetry/messaging.js';
import { SpanKind, contextOf, inSpan, tracing } from '../src/telemetry/traces.js';
import {
  CampaignSignal,
  PausedSignal,
  SettledSignal,
  SkipSignal,
  TamperedSignal,
  WaitSignal,
  type Ticket,
} from './gate/send-gate.js';

/**
 * The send worker's spans (src/telemetry/traces.ts says when there are any), in the message's trace:
 *
 *   create <queue>            the producer's (root)
 *   └ process <queue>         one per BullMQ attempt of the job (a job delayed or sent back to wait
 *     │                       runs again: another process span, a sibling)
 *     ├ grant                 the wait at the send gate: rate limits, pair interval, messaging limit, …
 *     ├ POST                  each HTTP request (src/engagelab/client.ts), p-retry's retries included
 *     └ settle <queue>        the ledger write: sent, dead (a dead letter) or skipped
 */

const requestIdOf = (job: Job<SendJobData>) =>
  typeof job.data.request_id === 'string' ? job.data.request_id : undefined;

/** BullMQ's own ends of an attempt that are not failures: the job was moved (delayed, back to wait). */
function jobOutcome(error: unknown): string | undefined {
  if (error instanceof DelayedError) return 'delayed';
  if (error instanceof WaitingError) return 'waiting';
  return undefined;
}

/** One attempt at a job: a child of the message's create span. */
export function processSpan<T>(job: Job<SendJobData>, queueName: string, work: () => Promise<T>): Promise<T> {
  // Tracing off (the usual case): not even the span's attributes are built, once per message.
  if (!tracing()) return work();
  const requestId = requestIdOf(job);
  return inSpan(
    `process ${destinationOf(queueName)}`,
    {
      kind: SpanKind.CONSUMER,
      parent: contextOf(job.data.trace),
      attributes: {
        ...messagingAttributes('process', 'process', queueName, requestId),
        ...(typeof job.data.campaign === 'string' && { 'wa_bulk.campaign': job.data.campaign }),
        'wa_bulk.attempt': job.attemptsMade + 1,
      },
      outcomeOf: jobOutcome,
      resultAttributes: (result: T) => ({ 'wa_bulk.outcome': typeof result === 'string' ? result : 'done' }),
    },
    work,
  );
}

/** A gate's answer that is not a failure: the message waits, is settled already, is paused, … */
function grantOutcome(error: unknown): string | undefined {
  if (error instanceof WaitSignal) return `wait:${error.reason}`;
  if (error instanceof SettledSignal) return `settled:${error.state}`;
  if (error instanceof PausedSignal) return `paused:${error.why}`;
  if (error instanceof CampaignSignal) return `campaign:${error.state}`;
  if (error instanceof SkipSignal) return `skip:${error.reason}`;
  if (error instanceof TamperedSignal) return 'tampered';
  return undefined;
}

/** The wait for a send grant before one HTTP request. */
export function grantSpan(work: () => Promise<Ticket>): Promise<Ticket> {
  if (!tracing()) return work();
  return inSpan(
    'grant',
    {
      outcomeOf: grantOutcome,
      resultAttributes: (ticket: Ticket) => ({
        'wa_bulk.outcome': 'granted',
        'wa_bulk.grant.waited_ms': ticket.waitedMs,
      }),
    },
    work,
  );
}

/** The ledger write that settles a message: `status` is what the worker records. */
export function settleSpan<T>(
  queueName: string,
  requestId: string,
  status: 'sent' | 'dead' | 'skipped',
  work: () => Promise<T>,
): Promise<T> {
  if (!tracing()) return work();
  return inSpan(
    `settle ${destinationOf(queueName)}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { ...messagingAttributes('settle', 'settle', queueName, requestId), 'wa_bulk.status': status },
      resultAttributes: (result: T) => (typeof result === 'string' ? { 'wa_bulk.outcome': result } : {}),
    },
    work,
  );
}
