import { ExternalMetric, type Scrape } from './scrape.js';

/** The webhook endpoints: their deliveries by result, and how many are enabled, failing or disabled. */
export function webhookMetrics(scrape: Scrape): ExternalMetric[] {
  return [
    new ExternalMetric(
      'wa_bulk_webhook_deliveries_total',
      'Webhook attempts by endpoint and result: delivered (2xx), failed (an attempt that will be retried or not), exhausted (out of attempts), dropped (its retry set full).',
      'counter',
      async () =>
        (await scrape.webhookEndpoints()).flatMap((e) =>
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
        const all = await scrape.webhookEndpoints();
        const failing = all.filter((e) => !e.disabled && e.failing_since !== null).length;
        const disabled = all.filter((e) => e.disabled).length;
        return [
          { value: all.length - failing - disabled, labels: { state: 'enabled' } },
          { value: failing, labels: { state: 'failing' } },
          { value: disabled, labels: { state: 'disabled' } },
        ];
      },
    ),
  ];
}
