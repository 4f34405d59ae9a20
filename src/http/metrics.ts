import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { LATENCY_BUCKETS_S } from '../status/fleet-stats.js';
import type { Config } from '../config.js';
import { funnel } from '../ledger/delivery.js';
import { CALLBACK_PAUSE_PREFIX, pauseState } from '../lanes/fleet.js';
import { WebhookEndpoints, type Endpoint } from '../events/endpoints.js';
import { Lanes } from '../lanes/lanes.js';
import type { Ledger } from '../ledger/ledger.js';
import type { DeadJobData, SendJobData } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import type { RedisHealth } from '../redis/health.js';

/** The fleet counters behind wa_bulk_callback_effects_total, by the label value each is shown with. */
const CALLBACK_EFFECTS = [
  ['session_opened', 'sessions_opened'],
  ['opted_out', 'opt_outs'],
  ['user_linked', 'users_linked'],
  ['reply_attributed', 'replies_attributed'],
  ['outcome_learned', 'callback_learned'],
] as const;

/**
 * GET /metrics: the whole fleet's figures. Workers add their counters to one Redis hash
 * ({prefix}:metrics, see src/status/fleet-stats.ts); this registry reads it, the queues and the pause and
 * breaker state at scrape time, next to prom-client's default process metrics of the dashboard itself.
 * Nothing here carries a secret, a phone number or a message body.
 */

/** prom-client's value shape; `metricName` names histogram series (_bucket, _sum, _count). */
type Values = Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;

/** A metric whose values are read from Redis at scrape time. */
class ExternalMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly read: () => Promise<Values>,
  ) {}
  readonly aggregator = 'sum' as const;
  private available: () => boolean = () => true;
  onlyWhen(available: () => boolean): void {
    this.available = available;
  }
  async get() {
    const values = this.available() ? await this.read().catch((): Values => []) : [];
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
  reset(): void {}
}

export interface MetricsSources {
  config: Config;
  ledger: Ledger;
  redis: Redis;
  health: RedisHealth;
  keys: Keys;
  send: Queue<SendJobData>;
  dead: Queue<DeadJobData>;
}

export function createMetrics(src: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wa_bulk_dashboard_' });
  let snapshot: Promise<Record<string, string>> | undefined;
  // One HGETALL per scrape, shared by every metric below.
  const stats = () =>
    (snapshot ??= src.redis.hgetall(src.keys.metrics).finally(() => setImmediate(() => (snapshot = undefined))));
  const lanes = new Lanes(src.redis, src.keys, src.config);
  let laneSnapshot: ReturnType<Lanes['states']> | undefined;
  // One read of the lanes per scrape, shared by the metrics that need it.
  const laneStates = () =>
    (laneSnapshot ??= lanes.states().finally(() => setImmediate(() => (laneSnapshot = undefined))));
  const byPrefix = async (prefix: string, label: string): Promise<Values> =>
    Object.entries(await stats())
      .filter(([field]) => field.startsWith(prefix))
      .map(([field, value]) => ({ value: Number(value), labels: { [label]: field.slice(prefix.length) } }));
  const num = (value: string | undefined) => Number(value ?? 0);
  const endpoints = new WebhookEndpoints(src.redis, src.keys);
  let endpointSnapshot: Promise<Endpoint[]> | undefined;
  // One read of the webhook endpoints per scrape.
  const webhookEndpoints = () =>
    (endpointSnapshot ??= endpoints.list().finally(() => setImmediate(() => (endpointSnapshot = undefined))));
  const counter = (name: string, help: string, field: string) =>
    new ExternalMetric(name, help, 'counter', async () => [{ value: num((await stats())[field]), labels: {} }]);

  const metrics = [
    new ExternalMetric('wa_bulk_redis_up', "1 while the dashboard's Redis connection is up.", 'gauge', async () => [
      { value: src.health.connected ? 1 : 0, labels: {} },
    ]),
    new ExternalMetric(
      'wa_bulk_archive_backlog',
      'With DATABASE_URL: ledger changes waiting in Redis to be written to PostgreSQL.',
      'gauge',
      async () => {
        const backlog = await src.ledger.archiveBacklog();
        return backlog === undefined ? [] : [{ value: backlog, labels: {} }];
      },
    ),
    new ExternalMetric(
      'wa_bulk_webhook_deliveries_total',
      'Webhook attempts by endpoint and result: delivered (2xx), failed (an attempt that will be retried or not), exhausted (out of attempts), dropped (its retry set full).',
      'counter',
      async () =>
        (await webhookEndpoints()).flatMap((e) =>
          (['delivered', 'failed', 'exhausted', 'dropped'] as const).map((result) => ({
            value: e.counts[result],
            labels: { endpoint: e.id, result },
          })),
        ),
    ),
    new ExternalMetric(
      'wa_bulk_webhook_endpoints',
      'Webhook endpoints by state: enabled, failing (its last attempt failed), disabled.',
      'gauge',
      async () => {
        const all = await webhookEndpoints();
        const failing = all.filter((e) => !e.disabled && e.failing_since !== null).length;
        const disabled = all.filter((e) => e.disabled).length;
        return [
          { value: all.length - failing - disabled, labels: { state: 'enabled' } },
          { value: failing, labels: { state: 'failing' } },
          { value: disabled, labels: { state: 'disabled' } },
        ];
      },
    ),
    counter(
      'wa_bulk_redis_disconnects_total',
      'Times a worker or the dashboard lost its Redis connection (each counted once Redis was back).',
      'redis_disconnects',
    ),
    counter('wa_bulk_messages_sent_total', 'Messages EngageLab accepted (HTTP 200 with a message_id).', 'sent'),
    new ExternalMetric(
      'wa_bulk_messages_dead_total',
      'Messages dead-lettered, by EngageLab error code ("none" for timeouts and lost connections).',
      'counter',
      async () =>
        Object.entries(await stats())
          .filter(([field]) => field.startsWith('dead:'))
          .map(([field, value]) => ({ value: Number(value), labels: { code: field.slice(5) } })),
    ),
    counter(
      'wa_bulk_retries_total',
      'HTTP requests that failed transiently and were retried (p-retry or BullMQ).',
      'retries',
    ),
    counter(
      'wa_bulk_rate_limited_total',
      'Answers 429 from EngageLab; every worker then waits out Retry-After.',
      'rate_limited',
    ),
    counter(
      'wa_bulk_marketing_rest_waits_total',
      "Times a marketing template waited, without a request, because its recipient rests after Meta's 131049.",
      'marketing_rest_waits',
    ),
    counter(
      'wa_bulk_limiter_waits_total',
      'Requests that waited for a send grant of the global rate limit.',
      'limiter_waits',
    ),
    new ExternalMetric(
      'wa_bulk_limiter_wait_seconds_total',
      'Time requests spent waiting for a send grant.',
      'counter',
      async () => [{ value: num((await stats()).limiter_wait_ms) / 1000, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_http_responses_total',
      'HTTP answers from EngageLab by status ("error" when there was none).',
      'counter',
      async () =>
        Object.entries(await stats())
          .filter(([field]) => field.startsWith('http:'))
          .map(([field, value]) => ({ value: Number(value), labels: { status: field.slice(5) } })),
    ),
    new ExternalMetric(
      'wa_bulk_http_request_duration_seconds',
      'Duration of HTTP requests to EngageLab.',
      'histogram',
      async () => {
        const s = await stats();
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
    // The campaigns' delivery funnel summed over all of them: each message counted once, at its furthest
    // state (sent = accepted by the API; delivered includes read). "failed" can go down when a later
    // callback proves delivery, so this is a gauge despite its name (kept for existing dashboards).
    new ExternalMetric(
      'wa_bulk_delivery_total',
      'Delivery funnel of all messages, as `status` shows it per campaign: sent (accepted), delivered (incl. read), read, failed.',
      'gauge',
      async () => {
        const s = await stats();
        return Object.entries(funnel(s, num(s.sent))).map(([status, value]) => ({ value, labels: { status } }));
      },
    ),
    new ExternalMetric(
      'wa_bulk_notifications_total',
      'Notifications received from EngageLab, by event.',
      'counter',
      async () =>
        Object.entries(await stats())
          .filter(([field]) => field.startsWith('notification:'))
          .map(([field, value]) => ({ value: Number(value), labels: { event: field.slice(13) } })),
    ),
    counter('wa_bulk_callback_rows_total', 'Callback rows received.', 'callback_rows'),
    new ExternalMetric(
      'wa_bulk_callback_unknown_total',
      'Callback rows or values wa-bulk does not know, by part: row (a shape kept aside, see "wa-bulk callbacks unknown"), message_status, event (response or notification), tier.',
      'counter',
      () => byPrefix('callback_unknown:', 'part'),
    ),
    counter(
      'wa_bulk_callback_itime_replaced_total',
      'Callback rows whose itime was implausible (before 2015, over a day ahead, not a number) and became the time of receipt.',
      'callback_itime_replaced',
    ),
    counter(
      'wa_bulk_callback_orphans_total',
      'Callback rows for a message_id not (yet) in the ledger.',
      'callback_orphaned',
    ),
    counter(
      'wa_bulk_callback_orphans_dropped_total',
      'Callback rows for an unknown message_id not kept: its 8 rows, or the 20,000 message_ids kept, were reached.',
      'callback_orphan_dropped',
    ),
    new ExternalMetric(
      'wa_bulk_callback_effects_total',
      'What callback rows did beside delivery states: session windows opened, opt-outs, users linked to their business-scoped ids, replies attributed to a sent message, lost answers learned.',
      'counter',
      async () => {
        const s = await stats();
        return CALLBACK_EFFECTS.map(([effect, field]) => ({ value: num(s[field]), labels: { effect } }));
      },
    ),
    new ExternalMetric(
      'wa_bulk_queue_jobs',
      'Jobs in the send queues (all sender lanes) by state, and dead letters waiting for an operator.',
      'gauge',
      async () => {
        const { counts } = await laneStates();
        const dead = await src.dead.getJobCountByTypes('waiting');
        return [
          { value: counts.waiting, labels: { queue: 'send', state: 'waiting' } },
          { value: counts.active, labels: { queue: 'send', state: 'active' } },
          { value: counts.delayed, labels: { queue: 'send', state: 'delayed' } },
          { value: counts.failed, labels: { queue: 'send', state: 'failed' } },
          { value: dead, labels: { queue: 'dead', state: 'waiting' } },
        ];
      },
    ),
    new ExternalMetric(
      'wa_bulk_sender_sent_total',
      'Messages EngageLab accepted, by sending number ("default": EngageLab\'s default number).',
      'counter',
      () => byPrefix('sent_lane:', 'from'),
    ),
    new ExternalMetric(
      'wa_bulk_sender_waiting',
      'Messages waiting (or delayed) in each sender lane.',
      'gauge',
      async () => (await laneStates()).lanes.map((l) => ({ value: l.waiting, labels: { from: l.from } })),
    ),
    new ExternalMetric(
      'wa_bulk_sender_rate',
      "Each sender lane's current limit per SEND_RATE_DURATION_MS (lower while a 130429 slow-down lasts).",
      'gauge',
      async () => (await laneStates()).lanes.map((l) => ({ value: l.rate_now, labels: { from: l.from } })),
    ),
    new ExternalMetric(
      'wa_bulk_sender_paused',
      '1 while a sender lane is paused (by an operator, 131048, or with the whole fleet).',
      'gauge',
      async () => (await laneStates()).lanes.map((l) => ({ value: l.paused ? 1 : 0, labels: { from: l.from } })),
    ),
    new ExternalMetric(
      'wa_bulk_messaging_limit',
      'Distinct recipients of template messages allowed in the moving window (-1: unlimited).',
      'gauge',
      async () => {
        const m = await lanes.messagingLimit();
        return [{ value: m.limit === 'unlimited' ? -1 : m.limit, labels: {} }];
      },
    ),
    new ExternalMetric(
      'wa_bulk_messaging_limit_used',
      'Distinct recipients of template messages in the moving window.',
      'gauge',
      async () => [{ value: (await lanes.messagingLimit()).used, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_messaging_limit_held',
      'Template messages waiting for a place under the messaging limit.',
      'gauge',
      async () => [{ value: (await lanes.messagingLimit()).held, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_campaigns',
      'Campaigns by state (scheduled, sending, paused, done, cancelled), of the newest 500 Redis holds.',
      'gauge',
      async () => {
        const byState: Record<string, number> = { scheduled: 0, sending: 0, paused: 0, done: 0, cancelled: 0 };
        let seen = 0;
        // Redis's campaigns only: a scrape must not aggregate the long-term ledger's history.
        for await (const campaign of src.ledger.campaigns(200, 0)) {
          byState[campaign.state] = (byState[campaign.state] ?? 0) + 1;
          if (++seen >= 500) break;
        }
        return Object.entries(byState).map(([state, value]) => ({ value, labels: { state } }));
      },
    ),
    new ExternalMetric(
      'wa_bulk_messages_skipped_total',
      'Messages not sent on purpose, by reason (no_session, frequency_cap, cancelled, …).',
      'counter',
      () => byPrefix('skipped:', 'reason'),
    ),
    new ExternalMetric(
      'wa_bulk_quality_actions_total',
      'What the quality guard did on delivery callbacks: lane_paused (131048), lane_slowed (130429), campaign_paused, recipient_rested (131049).',
      'counter',
      () => byPrefix('quality_', 'action'),
    ),
    new ExternalMetric(
      'wa_bulk_callbacks_refused_total',
      'Delivery callbacks refused before they were read, by reason (source: not from CALLBACK_ALLOW_FROM).',
      'counter',
      () => byPrefix('callback_refused:', 'reason'),
    ),
    new ExternalMetric(
      'wa_bulk_paused',
      '1 while sending is paused (by an operator, an auth failure or a safety stop).',
      'gauge',
      async () => [{ value: (await src.send.isPaused()) ? 1 : 0, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_paused_by_callback',
      '1 while the whole fleet is paused by a delivery-callback notification (its reason begins "from a callback:"); resume clears it.',
      'gauge',
      async () => {
        const { paused, reason } = await pauseState(src.redis, src.keys);
        return [{ value: paused && reason?.startsWith(CALLBACK_PAUSE_PREFIX) ? 1 : 0, labels: {} }];
      },
    ),
    new ExternalMetric(
      'wa_bulk_held_back_seconds',
      'Time left before sends resume after a 429 or during an outage cool-down.',
      'gauge',
      async () => [{ value: Math.max(0, await src.redis.pttl(src.keys.limiterGate)) / 1000, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_outages_total',
      'Times the outage breaker stopped sending for a cool-down.',
      'counter',
      async () => [{ value: Number((await src.redis.hget(src.keys.breaker, 'opened')) ?? 0), labels: {} }],
    ),
  ];
  for (const metric of metrics) registry.registerMetric(metric as never);
  // With Redis away, the figures read from it are left out (not waited for), so that a scrape still
  // answers at once and shows wa_bulk_redis_up 0.
  for (const metric of metrics) if (metric.name !== 'wa_bulk_redis_up') metric.onlyWhen(() => src.health.connected);
  return registry;
}
