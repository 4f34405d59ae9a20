import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { jobIdFor } from '../../src/queue.js';
import { enableTracing } from '../../src/telemetry/traces.js';
import { jsonl, phone } from '../fixtures/messages.js';
import { campaignDone, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { KIND, expectNothingPersonal, fromReadable, messageTrace, type SpanRecord } from '../helpers/traces.js';

/**
 * Traces in one process, through OpenTelemetry's in-memory exporter: a real producer, worker, dashboard
 * (its callback worker) and the simulator, on a real Redis.
 */

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const TOKEN = 'cb_token_traces_0123456789';
const SENDER = phone(99);

beforeAll(() => {
  provider.register();
});
// After each test, in this order (hooks run in the order they are declared): tracing off, the stack
// stopped, the spans forgotten.
afterEach(() => enableTracing(false));
const stack = useStack();
afterEach(() => exporter.reset());
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

const spans = (): SpanRecord[] => exporter.getFinishedSpans().map(fromReadable);

/** Messages with a number, a text and custom_args each, none of which may reach a span. */
function messages(prefix: string, count: number, extra: (i: number) => Record<string, unknown> = () => ({})) {
  const list = Array.from({ length: count }, (_, i) => ({
    to: phone(i),
    body: { type: 'text', text: { body: `Private note for Ada number ${prefix}${i}` } },
    request_id: `${prefix}-${i}`,
    custom_args: { note: `private-arg-${prefix}-${i}` },
    ...extra(i),
  }));
  const secrets = list.flatMap((m) => [m.to, m.body.text.body, m.custom_args.note]);
  return { list, secrets: [...secrets, SENDER] };
}

describe('traces', () => {
  it("make each message one trace from its create span to its settle, linked to its campaign's enqueue, with its delivery callbacks linked to it", async () => {
    const { sim, h } = await stack.start({
      simulator: (dashboardUrl) => ({
        callbackUrl: `${dashboardUrl}/callbacks/engagelab/${TOKEN}`,
        callbackDelayMs: 20,
        deliveryFailRate: 0,
      }),
      config: {
        CALLBACK_TOKEN: TOKEN,
        DASHBOARD_PASSWORD: 'password-for-traces',
        RETRY_RETRIES: 1,
        SEND_ATTEMPTS: 2,
      },
    });
    // tr-0: a transient error (1000) on its first request, retried in process; tr-1: 503 to every request,
    // so both BullMQ attempts run and it ends dead.
    const seen = new Map<string, number>();
    sim.setOverride((body) => {
      const id = String(body?.request_id);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (id === 'tr-0' && seen.get(id) === 1) return 'error1000';
      if (id === 'tr-1') return 'html503';
      return undefined;
    });
    enableTracing(true);
    await stack.startDashboard();
    // tr-5 goes out from its own sending number: its lane's queue is named after it.
    const { list, secrets } = messages('tr', 6, (i) => (i === 5 ? { from: SENDER } : {}));
    const summary = await enqueue(readJsonl(Readable.from([jsonl(list)])), {
      campaign: 'traced',
      ledger: h.ledger,
      queue: h.send,
    });
    expect(summary.accepted).toBe(6);

    // The job carries its create span's context, and so does the ledger record.
    const job = await h.send.getJob(jobIdFor('tr-2'));
    expect(job?.data.trace).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(await h.redis.hget(h.keys.message('tr-2'), 'trace')).toBe(job?.data.trace);

    await stack.startWorker();
    await campaignDone(h.ledger, 'traced');
    const delivered = () =>
      new Set(spans().flatMap((s) => (s.name === 'delivery' ? [s.attributes['messaging.message.id']] : [])));
    // Every message sent gets callbacks; the settles end inside their attempts, which end just after.
    await until(() => delivered().size === 5);
    await until(() => spans().filter((s) => s.name.startsWith('process send')).length === 7);
    const all = spans();

    // The enqueue: one span of its own, which each message's create span links to.
    const enqueued = all.filter((s) => s.name === 'enqueue');
    expect(enqueued).toHaveLength(1);
    const campaignSpan = enqueued[0] as SpanRecord;
    expect(campaignSpan.parentSpanId).toBeUndefined();
    expect(campaignSpan.attributes).toMatchObject({
      'messaging.operation.type': 'send',
      'messaging.batch.message_count': 6,
      'wa_bulk.campaign': 'traced',
    });

    const traces = new Map<string, ReturnType<typeof messageTrace>>();
    for (let i = 0; i < 5; i++) traces.set(`tr-${i}`, messageTrace(all, `tr-${i}`));
    const lane = messageTrace(all, 'tr-5', 'send-4479******99');
    traces.set('tr-5', lane);
    for (const [id, t] of traces) {
      expect(t.create.traceId).not.toBe(campaignSpan.traceId);
      expect(t.create.links).toEqual([
        { traceId: campaignSpan.traceId, spanId: campaignSpan.spanId, attributes: { 'wa_bulk.link': 'enqueue' } },
      ]);
      expect(t.create.attributes).toMatchObject({ 'wa_bulk.campaign': 'traced', 'wa_bulk.enqueue.verdict': 'new' });
      if (id !== 'tr-1') {
        // One attempt, granted once per request, settled as sent.
        expect(t.attempts).toHaveLength(1);
        expect(t.attempts[0]?.attributes).toMatchObject({ 'wa_bulk.attempt': 1, 'wa_bulk.outcome': 'sent' });
        expect(t.settles.map((s) => [s.attributes['wa_bulk.status'], s.kind])).toEqual([['sent', KIND.CLIENT]]);
        expect(t.grants).toHaveLength(t.posts.length);
      }
    }
    // The transient failure and its retry: two requests, the first failed with EngageLab's code.
    const retried = traces.get('tr-0');
    expect(retried?.posts.map((p) => [p.attributes['http.response.status_code'], p.status.code])).toEqual([
      [500, 2],
      [200, 0],
    ]);
    const [first, second] = retried?.posts ?? [];
    expect(first?.attributes).toMatchObject({ 'error.type': 'transient', 'wa_bulk.engagelab.code': 1000 });
    expect(second?.attributes['http.request.resend_count']).toBe(1);
    expect(second?.attributes).toMatchObject({ 'http.request.method': 'POST', 'url.full': `${sim.url}/v1/messages` });

    // Both BullMQ attempts of the message that died: siblings under its create span; the second dead-letters it.
    const died = traces.get('tr-1');
    expect(died?.attempts.map((a) => a.attributes['wa_bulk.attempt']).sort()).toEqual([1, 2]);
    expect(died?.posts).toHaveLength(4);
    expect(died?.settles.map((s) => s.attributes['wa_bulk.status'])).toEqual(['dead']);
    expect(died?.attempts.find((a) => a.attributes['wa_bulk.attempt'] === 1)?.status.code).toBe(2);

    // Each delivery span links to its message's create span, under its batch's span.
    const batches = new Map(all.filter((s) => s.name === 'process callbacks').map((s) => [s.spanId, s]));
    const deliveries = all.filter((s) => s.name === 'delivery' && s.attributes['messaging.message.id'] !== undefined);
    expect(deliveries.length).toBeGreaterThanOrEqual(5);
    for (const span of deliveries) {
      const t = traces.get(span.attributes['messaging.message.id'] as string);
      expect(span.links).toEqual([
        { traceId: t?.create.traceId, spanId: t?.create.spanId, attributes: { 'wa_bulk.link': 'send' } },
      ]);
      expect(batches.get(span.parentSpanId ?? '')?.kind).toBe(KIND.CONSUMER);
      expect(['sent', 'delivered', 'read']).toContain(span.attributes['wa_bulk.delivery.status']);
    }

    expectNothingPersonal(all, secrets);
  });

  it('makes no span and keeps no trace context while tracing is off', async () => {
    const { h } = await stack.start({ simulator: {} });
    const { list } = messages('off', 2);
    await enqueue(readJsonl(Readable.from([jsonl(list)])), { campaign: 'untraced', ledger: h.ledger, queue: h.send });
    const job = await h.send.getJob(jobIdFor('off-0'));
    expect(job?.data.payload.request_id).toBe('off-0');
    expect(job?.data.trace).toBeUndefined();
    await stack.startWorker();
    await campaignDone(h.ledger, 'untraced');
    expect(await h.redis.hget(h.keys.message('off-0'), 'status')).toBe('sent');
    expect(await h.redis.hget(h.keys.message('off-0'), 'trace')).toBeNull();
    expect(spans()).toEqual([]);
  });
});
