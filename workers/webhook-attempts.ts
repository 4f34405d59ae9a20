import type { Config } from '../src/config.js';
import { jittered, type Delivery, type WebhookDeliveries } from '../src/events/deliveries.js';
import type { Endpoint, WebhookEndpoints } from '../src/events/endpoints.js';
import { signedHeaders } from '../src/events/signing.js';
import type { Logger } from '../src/log.js';
import { postWebhook, type Attempt } from './webhook-delivery.js';

/**
 * A delivery's attempts and what follows from each (the dispatcher decides what to deliver and when to look
 * for due retries): a failed delivery is tried again on WEBHOOK_RETRY_SCHEDULE (jittered) from the endpoint's
 * retry set; one out of attempts is kept (bounded) for `webhooks replay`. An endpoint answering 410, or whose
 * every delivery has failed for WEBHOOK_DISABLE_AFTER_MS, is disabled, with a log line and a
 * `webhook.disabled` event to the other endpoints.
 */
export class WebhookAttempts {
  constructor(
    private readonly endpoints: WebhookEndpoints,
    private readonly deliveries: WebhookDeliveries,
    private readonly config: Config,
    private readonly log: Logger,
    /** Told when an endpoint's state has changed (delivered again, disabled): a list of them is stale. */
    private readonly changed: () => void,
  ) {}

  /** Schedules the delivery's next attempt; its first is the schedule's first delay (0 by default: at once). */
  async later(endpoint: Endpoint, delivery: Delivery, replacing?: string, atLeastMs = 0): Promise<void> {
    const schedule = this.config.WEBHOOK_RETRY_SCHEDULE;
    const delay = schedule[Math.min(delivery.attempts, schedule.length - 1)] ?? 0;
    const due = Date.now() + Math.max(jittered(delay), atLeastMs);
    const kept = await this.deliveries.schedule(endpoint.id, delivery, due, replacing);
    if (!kept) await this.endpoints.count(endpoint.id, 'dropped');
  }

  /** One attempt of a delivery (`member`: its place in the retry set, when it is a retry), and what follows. */
  async attempt(endpoint: Endpoint, delivery: Delivery, member?: string): Promise<Attempt> {
    const secrets = await this.endpoints.secrets(endpoint.id);
    const outcome = await postWebhook(endpoint.url, signedHeaders(secrets, delivery.id, delivery.body), delivery.body, {
      timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
      allowPrivate: this.config.WEBHOOK_ALLOW_PRIVATE,
    });
    const tried: Delivery = { ...delivery, attempts: delivery.attempts + 1 };
    const failingSince = await this.endpoints.recordAttempt(endpoint.id, {
      result: outcome.result,
      status: outcome.status,
      ...(outcome.result === 'failed' && { error: outcome.error }),
    });
    if (outcome.result === 'delivered') {
      if (member !== undefined) await this.deliveries.done(endpoint.id, member);
      this.changed();
      return outcome;
    }
    const error = outcome.result === 'gone' ? 'HTTP 410 Gone' : outcome.error;
    const failingFor = Date.now() - (failingSince ?? Date.now());
    const disable =
      outcome.result === 'gone' ? 'gone' : failingFor >= this.config.WEBHOOK_DISABLE_AFTER_MS ? 'failing' : undefined;
    if (disable !== undefined) {
      if (await this.endpoints.disable(endpoint.id, endpoint.url, disable))
        this.log.warn(
          {
            endpoint: endpoint.id,
            reason: disable,
            failing_since: failingSince && new Date(failingSince).toISOString(),
          },
          disable === 'gone'
            ? 'webhooks: an endpoint answered 410 Gone; it is disabled (wa-bulk webhooks enable turns it on again)'
            : 'webhooks: every delivery to an endpoint has failed for WEBHOOK_DISABLE_AFTER_MS; it is disabled',
        );
      this.changed();
    }
    if (disable !== undefined || tried.attempts >= this.config.WEBHOOK_RETRY_SCHEDULE.length) {
      await this.deliveries.exhaust(endpoint.id, { ...tried, at: Date.now(), status: outcome.status, error }, member);
      await this.endpoints.count(endpoint.id, 'exhausted');
    } else {
      await this.later(endpoint, tried, member, outcome.result === 'failed' ? (outcome.retryAfterMs ?? 0) : 0);
    }
    return outcome;
  }
}
