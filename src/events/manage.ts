import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { CampaignOptionError, parseSince } from '../campaigns/options.js';
import type { Keys } from '../redis/keys.js';
import { WebhookDeliveries, type Delivery, type ExhaustedDelivery } from './deliveries.js';
import { endpointAddressProblem, endpointUrlProblem } from './endpoint-url.js';
import { CONFIGURED_ID, MAX_BATCH, ROTATION_OVERLAP_MS, WebhookEndpoints, type Endpoint } from './endpoints.js';
import { parseFilters } from './filters.js';

/**
 * What `wa-bulk webhooks` and /api/webhooks do, in one place: each input checked where it enters (an error
 * names the field and what it expects), then the endpoints' store (./endpoints.ts) and their deliveries
 * (./deliveries.ts).
 */

export class WebhookInputError extends Error {
  override name = 'WebhookInputError';
  constructor(
    message: string,
    /** 400: the input is wrong; 404: no such endpoint; 409: the configuration owns what was to change. */
    readonly status: 400 | 404 | 409 = 400,
  ) {
    super(message);
  }
}

/** An endpoint's campaign filter (`--campaign`, `"campaign"`): only that campaign's events are sent to it. */
export const CAMPAIGN_FILTER = /^[A-Za-z0-9_.-]{1,128}$/;

export interface AddInput {
  url: unknown;
  events?: unknown;
  campaign?: unknown;
  batch?: unknown;
}

export class WebhookAdmin {
  readonly endpoints: WebhookEndpoints;
  readonly deliveries: WebhookDeliveries;

  constructor(
    redis: Redis,
    keys: Keys,
    private readonly config: Config,
  ) {
    this.endpoints = new WebhookEndpoints(redis, keys);
    this.deliveries = new WebhookDeliveries(redis, keys);
  }

  async add(input: AddInput): Promise<Endpoint & { secret: string }> {
    if (typeof input.url !== 'string' || input.url === '') throw new WebhookInputError('url: expected a URL');
    const problem = endpointUrlProblem(input.url, this.config.WEBHOOK_ALLOW_PRIVATE);
    if (problem) throw new WebhookInputError(`url: ${problem}`);
    const inward = await endpointAddressProblem(input.url, this.config.WEBHOOK_ALLOW_PRIVATE);
    if (inward) throw new WebhookInputError(`url: ${input.url}: ${inward}`);
    let events: string[];
    try {
      const text = Array.isArray(input.events) ? input.events.join(',') : input.events;
      if (text !== undefined && typeof text !== 'string')
        throw new RangeError('expected a list of event types, such as message.*,contact.opted_out');
      events = parseFilters(text);
    } catch (error) {
      throw new WebhookInputError(`events: ${(error as Error).message}`);
    }
    if (input.campaign !== undefined && (typeof input.campaign !== 'string' || !CAMPAIGN_FILTER.test(input.campaign)))
      throw new WebhookInputError('campaign: expected a campaign id (letters, digits, "_", "-", ".")');
    const batch = input.batch === undefined ? 1 : Number(input.batch);
    if (!Number.isInteger(batch) || batch < 1 || batch > MAX_BATCH)
      throw new WebhookInputError(`batch: expected an integer from 1 to ${MAX_BATCH}`);
    return this.endpoints.add({
      url: input.url,
      events,
      campaign: (input.campaign as string | undefined) ?? null,
      batch,
    });
  }

  async get(id: string): Promise<Endpoint> {
    const endpoint = await this.endpoints.get(id);
    if (!endpoint) throw new WebhookInputError(`no webhook endpoint "${id}" (wa-bulk webhooks list)`, 404);
    return endpoint;
  }

  list(): Promise<Endpoint[]> {
    return this.endpoints.list();
  }

  /**
   * WEBHOOK_URL's endpoint is the configuration's: its url, secret and filters are set again at every start of
   * the dashboard, so removing it or rotating its secret here would be undone there. Enabling it (after a 410
   * or a long failure), testing and replaying it change nothing the configuration says.
   */
  private refuseConfigured(id: string, what: string, instead: string): void {
    if (id === CONFIGURED_ID)
      throw new WebhookInputError(
        `the endpoint "${CONFIGURED_ID}" is declared by WEBHOOK_URL: ${what} it there (${instead}), not here`,
        409,
      );
  }

  async remove(id: string): Promise<void> {
    this.refuseConfigured(id, 'remove', 'unset WEBHOOK_URL and restart the dashboard');
    if (!(await this.endpoints.remove(id)))
      throw new WebhookInputError(`no webhook endpoint "${id}" (wa-bulk webhooks list)`, 404);
  }

  async rotateSecret(id: string): Promise<{ id: string; secret: string; previous_until: string }> {
    this.refuseConfigured(id, 'change its secret', 'WEBHOOK_SECRET, then restart the dashboard');
    const secret = await this.endpoints.rotateSecret(id);
    if (secret === undefined) throw new WebhookInputError(`no webhook endpoint "${id}" (wa-bulk webhooks list)`, 404);
    const endpoint = await this.get(id);
    return { id: endpoint.id, secret, previous_until: new Date(Date.now() + ROTATION_OVERLAP_MS).toISOString() };
  }

  async enable(id: string): Promise<Endpoint> {
    if (!(await this.endpoints.enable(id)))
      throw new WebhookInputError(`no webhook endpoint "${id}" (wa-bulk webhooks list)`, 404);
    return this.get(id);
  }

  /** What is waiting for a retry and what ran out of attempts (the newest `limit` of each). */
  async deliveriesOf(
    id: string,
    limit = 100,
  ): Promise<{ retrying: Array<Delivery & { due: number }>; exhausted: ExhaustedDelivery[] }> {
    await this.get(id);
    return {
      retrying: await this.deliveries.waiting(id, limit),
      exhausted: await this.deliveries.exhausted(id, limit),
    };
  }

  async replay(id: string, since?: string): Promise<number> {
    await this.get(id);
    return this.deliveries.replay(id, since === undefined ? 0 : sinceOf(since));
  }
}

/** A replay's `since`, read as the audit log's `--since` is; a bad one is the caller's 400. */
function sinceOf(text: string): number {
  try {
    return parseSince(text, 'since');
  } catch (error) {
    if (error instanceof CampaignOptionError) throw new WebhookInputError(error.message);
    throw error;
  }
}
