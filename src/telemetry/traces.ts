import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';

/**
 * wa-bulk's spans, through OpenTelemetry's API. Until tracing is switched on (src/telemetry/sdk.ts starts
 * the SDK when the OTEL_* variables ask for it; a library user who registers a provider calls
 * enableTracing()) every helper here runs its work directly: no span, no context, nothing stored.
 *
 * One trace per message: its `create` span, started as the producer writes it, is the root; its
 * traceparent travels in the job's data (SendJobData.trace) and in its ledger record, so that each
 * attempt's `process` span is a child of it and a delivery callback can link to it. A campaign's
 * `enqueue` span is a trace of its own, which each message's `create` span links to: a campaign of a
 * million messages is not one trace of a million spans.
 *
 * Never a recipient's number, a sender's number unmasked, a message's text or custom_args in a span:
 * messages are named by their request_id (messaging.message.id), campaigns by their id.
 */

let on = false;

/** Whether spans are being made. */
export function tracing(): boolean {
  return on;
}

/** Makes spans through the globally registered provider (the caller registered one) or stops making them. */
export function enableTracing(value = true): void {
  on = value;
}

const tracer = () => trace.getTracer('wa-bulk');

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const INVALID_TRACE = /^0+$/;

/** A span's context as a W3C traceparent (55 characters), kept with a message while tracing is on. */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
}

/** The span context a traceparent names; undefined for anything else (an absent or mangled value). */
export function spanContextOf(traceparent: unknown): SpanContext | undefined {
  if (typeof traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (!match || INVALID_TRACE.test(match[1] as string) || INVALID_TRACE.test(match[2] as string)) return undefined;
  return {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16) & 1,
    isRemote: true,
  };
}

/** A context whose parent is the span a traceparent names, or the root context when it names none. */
export function contextOf(traceparent: unknown): Context {
  const parent = spanContextOf(traceparent);
  return parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
}

/** A link to the span a traceparent names, if it names one. */
export function linkTo(traceparent: unknown, attributes?: Attributes): Link | undefined {
  const spanContext = spanContextOf(traceparent);
  return spanContext && { context: spanContext, ...(attributes && { attributes }) };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  links?: Link[];
  /** The parent; by default the active span. */
  parent?: Context;
  /**
   * An error thrown by the work that is not a failure but an expected end (a job delayed, a gate's signal):
   * its name, recorded as wa_bulk.outcome. Undefined: a failure (status ERROR), which every error is by default.
   */
  outcomeOf?: (error: unknown) => string | undefined;
  /** Attributes from the work's result, set as the span ends. */
  resultAttributes?: (result: never) => Attributes;
}

/** Starts a span (for work that spans callbacks); undefined while tracing is off. The caller ends it. */
export function startSpan(
  name: string,
  options: Omit<SpanOptions, 'outcomeOf' | 'resultAttributes'> = {},
): Span | undefined {
  if (!on) return undefined;
  return tracer().startSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {}, links: options.links ?? [] },
    options.parent ?? context.active(),
  );
}

/**
 * Marks a span failed with the error's kind (error.type). Not its message: an API's error message may quote
 * the request it refuses, a number included.
 */
export function recordFailure(span: Span, error: unknown): void {
  const name = error instanceof Error ? error.name : typeof error;
  span.setAttribute('error.type', name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: name });
}

/**
 * Runs `work` inside a span, which is the active span for what `work` starts; while tracing is off, runs it
 * alone. The span ends when the work settles; a thrown error that `failed` counts marks it failed.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  work: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!on) return work(undefined);
  const span = startSpan(name, options) as Span;
  try {
    const result = await context.with(trace.setSpan(options.parent ?? context.active(), span), () => work(span));
    if (options.resultAttributes) span.setAttributes((options.resultAttributes as (result: T) => Attributes)(result));
    return result;
  } catch (error) {
    const outcome = options.outcomeOf?.(error);
    if (outcome === undefined) recordFailure(span, error);
    else span.setAttribute('wa_bulk.outcome', outcome);
    throw error;
  } finally {
    span.end();
  }
}

export { SpanKind };
