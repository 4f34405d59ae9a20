import { describe, expect, it } from '@jest/globals';
import { startTracing, tracesWanted } from '../../src/telemetry/sdk.js';
import { destinationOf } from '../../src/telemetry/messaging.js';
import { contextOf, linkTo, spanContextOf, tracing } from '../../src/telemetry/traces.js';
import { trace } from '@opentelemetry/api';

describe('the traces switch', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, false],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_TRACES_EXPORTER: 'none,otlp' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'TRUE', OTEL_TRACES_EXPORTER: 'console' }, false],
    [{ OTEL_SDK_DISABLED: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    // Variables of metrics or logs alone ask for no traces.
    [{ OTEL_METRICS_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'x' }, false],
  ])('with %j, traces are %s', (env, wanted) => {
    expect(tracesWanted(env)).toBe(wanted);
  });

  it('starts nothing and makes no span when the variables do not ask for traces', async () => {
    expect(await startTracing('worker', { OTEL_SERVICE_NAME: 'wa-bulk' })).toBeUndefined();
    expect(tracing()).toBe(false);
  });
});

describe('trace contexts kept with a message', () => {
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it('reads a W3C traceparent into a remote, sampled span context', () => {
    expect(spanContextOf(traceparent)).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
    });
    expect(trace.getSpanContext(contextOf(traceparent))?.spanId).toBe('b7ad6b7169203331');
    expect(linkTo(traceparent, { 'wa_bulk.link': 'send' })?.attributes).toEqual({ 'wa_bulk.link': 'send' });
  });

  it.each([
    undefined,
    42,
    '',
    '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    '00-00000000000000000000000000000000-b7ad6b7169203331-01',
    '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01',
    '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01',
    `${traceparent}-extra`,
  ])('takes %j as no context: a root span, no link', (value) => {
    expect(spanContextOf(value)).toBeUndefined();
    expect(trace.getSpanContext(contextOf(value))).toBeUndefined();
    expect(linkTo(value)).toBeUndefined();
  });
});

describe('queue names in spans', () => {
  it("mask a sender lane's number as logs do, and leave the others as they are", () => {
    expect(destinationOf('send')).toBe('send');
    expect(destinationOf('send-8613800138000')).toBe('send-8613*******00');
    expect(destinationOf('callbacks')).toBe('callbacks');
  });
});
