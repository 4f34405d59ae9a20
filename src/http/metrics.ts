import { Registry, collectDefaultMetrics } from 'prom-client';
import { callbackMetrics } from './metrics/callbacks.js';
import { fleetMetrics } from './metrics/fleet.js';
import { queueMetrics } from './metrics/queues.js';
import { Scrape, type MetricsSources } from './metrics/scrape.js';
import { sendingMetrics } from './metrics/sending.js';
import { webhookMetrics } from './metrics/webhooks.js';

export type { MetricsSources } from './metrics/scrape.js';

/**
 * GET /metrics: the whole fleet's figures. Workers add their counters to one Redis hash
 * ({prefix}:metrics, see src/status/fleet-stats.ts); this registry reads it, the queues and the pause and
 * breaker state at scrape time, next to prom-client's default process metrics of the dashboard itself.
 * Nothing here carries a secret, a phone number or a message body.
 *
 * The metrics are declared by area in ./metrics/; their names are a contract (the alert rules and the Grafana
 * dashboard in deploy/ read them).
 */
export function createMetrics(src: MetricsSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'wa_bulk_dashboard_' });
  const scrape = new Scrape(src);
  const metrics = [
    ...fleetMetrics(scrape),
    ...sendingMetrics(scrape),
    ...queueMetrics(scrape),
    ...callbackMetrics(scrape),
    ...webhookMetrics(scrape),
  ];
  for (const metric of metrics) registry.registerMetric(metric as never);
  // With Redis away, the figures read from it are left out (not waited for), so that a scrape still
  // answers at once and shows wa_bulk_redis_up 0.
  for (const metric of metrics) if (metric.name !== 'wa_bulk_redis_up') metric.onlyWhen(() => src.health.connected);
  return registry;
}
