import { LATENCY_BUCKETS_S } from '../../status/fleet-stats.js';
import { ExternalMetric, num, type Scrape, type Values } from './scrape.js';

/** The send path: requests to EngageLab and their answers, retries and waits, and what each message came to. */
export function sendingMetrics(scrape: Scrape): ExternalMetric[] {
  return [
    scrape.counter('wa_bulk_messages_sent_total', 'Messages EngageLab accepted (HTTP 200 with a message_id).', 'sent'),
    new ExternalMetric(
      'wa_bulk_messages_dead_total',
      'Messages dead-lettered, by EngageLab error code ("none" for timeouts and lost connections).',
      'counter',
      () => scrape.byPrefix('dead:', 'code'),
    ),
    new ExternalMetric(
      'wa_bulk_messages_skipped_total',
      'Messages not sent on purpose, by reason (no_session, frequency_cap, cancelled, …).',
      'counter',
      () => scrape.byPrefix('skipped:', 'reason'),
    ),
    scrape.counter(
      'wa_bulk_retries_total',
      'HTTP requests that failed transiently and were retried (p-retry or BullMQ).',
      'retries',
    ),
    scrape.counter(
      'wa_bulk_rate_limited_total',
      'Answers 429 from EngageLab; every worker then waits out Retry-After.',
      'rate_limited',
    ),
    scrape.counter(
      'wa_bulk_marketing_rest_waits_total',
      "Times a marketing template waited, without a request, because its recipient rests after Meta's 131049.",
      'marketing_rest_waits',
    ),
    scrape.counter(
      'wa_bulk_limiter_waits_total',
      'Requests that waited for a send grant of the global rate limit.',
      'limiter_waits',
    ),
    new ExternalMetric(
      'wa_bulk_limiter_wait_seconds_total',
      'Time requests spent waiting for a send grant.',
      'counter',
      async () => [{ value: num((await scrape.stats()).limiter_wait_ms) / 1000, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_http_responses_total',
      'HTTP answers from EngageLab by status ("error" when there was none).',
      'counter',
      () => scrape.byPrefix('http:', 'status'),
    ),
    new ExternalMetric(
      'wa_bulk_http_request_duration_seconds',
      'Duration of HTTP requests to EngageLab.',
      'histogram',
      async () => {
        const s = await scrape.stats();
        const values: Values = LATENCY_BUCKETS_S.map((le) => ({
          metricName: 'wa_bulk_http_request_duration_seconds_bucket',
          value: num(s[`latency_le:${le}`]),
          labels: { le },
        }));
        values.push({
          metricName: 'wa_bulk_http_request_duration_seconds_bucket',
          value: num(s.latency_count),
          labels: { le: '+Inf' },
        });
        values.push({
          metricName: 'wa_bulk_http_request_duration_seconds_sum',
          value: num(s.latency_sum_ms) / 1000,
          labels: {},
        });
        values.push({
          metricName: 'wa_bulk_http_request_duration_seconds_count',
          value: num(s.latency_count),
          labels: {},
        });
        return values;
      },
    ),
  ];
}
