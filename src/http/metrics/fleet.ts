import { CALLBACK_PAUSE_PREFIX, pauseState } from '../../lanes/fleet.js';
import { ExternalMetric, type Scrape } from './scrape.js';

/**
 * Whether the fleet can work and is sending: the dashboard's Redis connection, the long-term ledger's backlog,
 * pauses, the hold after a 429 or during an outage cool-down, the outage breaker.
 */
export function fleetMetrics(scrape: Scrape): ExternalMetric[] {
  return [
    new ExternalMetric('wa_bulk_redis_up', "1 while the dashboard's Redis connection is up.", 'gauge', async () => [
      { value: scrape.src.health.connected ? 1 : 0, labels: {} },
    ]),
    new ExternalMetric(
      'wa_bulk_archive_backlog',
      'With DATABASE_URL: ledger changes waiting in Redis to be written to PostgreSQL.',
      'gauge',
      async () => {
        const backlog = await scrape.src.ledger.archiveBacklog();
        return backlog === undefined ? [] : [{ value: backlog, labels: {} }];
      },
    ),
    scrape.counter(
      'wa_bulk_redis_disconnects_total',
      'Times a worker or the dashboard lost its Redis connection (each counted once Redis was back).',
      'redis_disconnects',
    ),
    new ExternalMetric(
      'wa_bulk_paused',
      '1 while sending is paused (by an operator, an auth failure or a safety stop).',
      'gauge',
      async () => [{ value: (await scrape.src.send.isPaused()) ? 1 : 0, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_paused_by_callback',
      '1 while the whole fleet is paused by a delivery-callback notification (its reason begins "from a callback:"); resume clears it.',
      'gauge',
      async () => {
        const { paused, reason } = await pauseState(scrape.src.redis, scrape.src.keys);
        return [{ value: paused && reason?.startsWith(CALLBACK_PAUSE_PREFIX) ? 1 : 0, labels: {} }];
      },
    ),
    new ExternalMetric(
      'wa_bulk_held_back_seconds',
      'Time left before sends resume after a 429 or during an outage cool-down.',
      'gauge',
      async () => [{ value: Math.max(0, await scrape.src.redis.pttl(scrape.src.keys.limiterGate)) / 1000, labels: {} }],
    ),
    new ExternalMetric(
      'wa_bulk_outages_total',
      'Times the outage breaker stopped sending for a cool-down.',
      'counter',
      async () => [
        { value: Number((await scrape.src.redis.hget(scrape.src.keys.breaker, 'opened')) ?? 0), labels: {} },
      ],
    ),
  ];
}
