import type { Span } from '@opentelemetry/api';
import type { EngageLabError } from '../engagelab/errors.js';
import { SpanKind, recordFailure, startSpan, tracing } from './traces.js';

/**
 * One HTTP request to EngageLab's Send Message API, as a CLIENT span with HTTP's semantic conventions: the
 * method, the server, the URL without credentials or query (the body, with its recipient and text, is never
 * recorded), the status, and which retry of p-retry it is (http.request.resend_count). EngageLab's own
 * error code goes in wa_bulk.engagelab.code, the error's kind (transient, permanent, …) in error.type.
 */

const SEND_PATH = '/v1/messages';

/** The URL of the send path as spans show it: origin and path only. */
function urlOf(baseUrl: string): URL {
  const url = new URL(SEND_PATH, baseUrl);
  url.username = '';
  url.password = '';
  url.search = '';
  return url;
}

const urls = new Map<string, URL>();

/** Starts the span of one request (undefined while tracing is off); `attempt` counts from 1. */
export function attemptSpan(baseUrl: string, requestId: string | undefined, attempt: number): Span | undefined {
  if (!tracing()) return undefined;
  let url = urls.get(baseUrl);
  if (!url) urls.set(baseUrl, (url = urlOf(baseUrl)));
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  return startSpan('POST', {
    kind: SpanKind.CLIENT,
    attributes: {
      'http.request.method': 'POST',
      'server.address': url.hostname,
      'server.port': port,
      'url.full': url.href,
      ...(requestId !== undefined && { 'messaging.message.id': requestId }),
      ...(attempt > 1 && { 'http.request.resend_count': attempt - 1 }),
    },
  });
}

/** Ends a request's span: its HTTP status if it got one, and how it failed if it did. */
export function endAttemptSpan(span: Span | undefined, httpStatus: number | undefined, failure?: EngageLabError): void {
  if (!span) return;
  if (httpStatus !== undefined) span.setAttribute('http.response.status_code', httpStatus);
  if (failure) {
    recordFailure(span, failure);
    span.setAttribute('error.type', failure.kind);
    if (failure.code !== undefined) span.setAttribute('wa_bulk.engagelab.code', failure.code);
  }
  span.end();
}
