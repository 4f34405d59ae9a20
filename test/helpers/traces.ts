import { expect } from '@jest/globals';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';

/**
 * Spans as the tests look at them, from the in-memory exporter or from OTLP/HTTP JSON as a receiver gets it,
 * and the checks both kinds of test make: the shape of a message's trace, and that no span carries what it
 * must not.
 */

/** A span's kind as OpenTelemetry's API numbers it. */
export const KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const;

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Record<string, unknown>;
}

export interface SpanRecord {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  attributes: Record<string, unknown>;
  links: SpanLink[];
  events: unknown[];
  status: { code: number; message?: string | undefined };
  resource: Record<string, unknown>;
}

export function fromReadable(span: ReadableSpan): SpanRecord {
  return {
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    attributes: { ...span.attributes },
    links: span.links.map((link) => ({
      traceId: link.context.traceId,
      spanId: link.context.spanId,
      attributes: { ...link.attributes },
    })),
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
    status: { code: span.status.code, message: span.status.message },
    resource: { ...span.resource.attributes },
  };
}

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
type OtlpAttributes = Array<{ key: string; value: OtlpValue }> | undefined;

const valueOf = (value: OtlpValue): unknown =>
  value.stringValue ??
  (value.intValue !== undefined ? Number(value.intValue) : undefined) ??
  value.doubleValue ??
  value.boolValue ??
  value.arrayValue?.values?.map(valueOf);
const attributesOf = (list: OtlpAttributes) => Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));

interface OtlpSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: OtlpAttributes;
  links?: Array<{ traceId: string; spanId: string; attributes?: OtlpAttributes }>;
  events?: Array<{ name: string; attributes?: OtlpAttributes }>;
  status?: { code?: number; message?: string };
}

/** The spans of one OTLP/HTTP JSON export request (ExportTraceServiceRequest). */
export function fromOtlpJson(body: {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpAttributes }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}): SpanRecord[] {
  const out: SpanRecord[] = [];
  for (const resourceSpans of body.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? [])
      for (const span of scope.spans ?? [])
        out.push({
          name: span.name,
          // OTLP counts kinds from 1 (SPAN_KIND_INTERNAL), the API from 0.
          kind: span.kind - 1,
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          attributes: attributesOf(span.attributes),
          links: (span.links ?? []).map((link) => ({
            traceId: link.traceId,
            spanId: link.spanId,
            attributes: attributesOf(link.attributes),
          })),
          events: (span.events ?? []).map((event) => ({
            name: event.name,
            attributes: attributesOf(event.attributes),
          })),
          status: { code: span.status?.code ?? 0, message: span.status?.message },
          resource,
        });
  }
  return out;
}

/**
 * No span, in its name, attributes, events, links, status or resource, contains any of `secrets` (numbers as
 * given and as digits, texts): the whole span is searched as JSON.
 */
export function expectNothingPersonal(spans: readonly SpanRecord[], secrets: readonly string[]): void {
  expect(spans.length).toBeGreaterThan(0);
  const needles = [
    ...new Set(secrets.flatMap((s) => [s, s.replace(/\D/g, '').length >= 7 ? s.replace(/\D/g, '') : s])),
  ];
  const found: string[] = [];
  for (const span of spans) {
    const text = JSON.stringify(span);
    for (const needle of needles) if (text.includes(needle)) found.push(`${span.name}: ${needle}`);
  }
  expect(found).toEqual([]);
}

/** The spans of one message's trace, found by its request_id, and checked to hang together. */
export function messageTrace(spans: readonly SpanRecord[], requestId: string, queue = 'send') {
  const create = spans.filter(
    (s) => s.name === `create ${queue}` && s.attributes['messaging.message.id'] === requestId,
  );
  expect(create).toHaveLength(1);
  const root = create[0] as SpanRecord;
  expect(root.parentSpanId).toBeUndefined();
  expect(root.kind).toBe(KIND.PRODUCER);
  const inTrace = spans.filter((s) => s.traceId === root.traceId);
  const attempts = inTrace.filter((s) => s.name === `process ${queue}`);
  for (const p of attempts) {
    expect(p.parentSpanId).toBe(root.spanId);
    expect(p.kind).toBe(KIND.CONSUMER);
    expect(p.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': queue,
      'messaging.message.id': requestId,
    });
  }
  const childrenOf = (name: string) =>
    inTrace.filter((s) => s.name === name && attempts.some((p) => p.spanId === s.parentSpanId));
  const grants = childrenOf('grant');
  const posts = childrenOf('POST');
  const settles = childrenOf(`settle ${queue}`);
  // Nothing else in the trace: every span is the root, an attempt, or a child of an attempt.
  expect(inTrace.length).toBe(1 + attempts.length + grants.length + posts.length + settles.length);
  return { create: root, attempts, grants, posts, settles };
}
