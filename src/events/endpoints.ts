import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';
import { ensureGroup, execWithEvent, groupsOf, previousId } from './feed.js';
import { newSecret } from './signing.js';

/**
 * Webhook endpoints, this module's records alone:
 *   {prefix}:endpoints              set of endpoint ids
 *   {prefix}:endpoints:version      a count bumped by every change of the set or of an endpoint's settings,
 *                                   so that a dispatcher knows to read them again before its next batch
 *   {prefix}:endpoint:{id}          hash: url, secret, previous_secret and previous_until (ms: a rotation's old
 *                                   secret signs too until then), events (filters, comma-separated; empty: all),
 *                                   campaign (empty: all), batch, created_at, disabled_at, disabled_reason,
 *                                   failing_since (ms, since the first of an unbroken run of failures), the
 *                                   last attempt (last_at, last_status, last_error) and counts by result
 * and, written by ./deliveries.ts, {prefix}:endpoint:{id}:retries (deliveries waiting for their next attempt)
 * and {prefix}:endpoint:{id}:failed (deliveries whose attempts ran out).
 * The endpoint that WEBHOOK_URL declares has the id `env`, and its url, secret and filters come from the
 * configuration at every start of the dispatcher.
 *
 * Each enabled endpoint reads the change feed through a consumer group of its own, `webhooks:<id>` (groupOf),
 * so that each has its own place in the feed and a slow one holds up only itself; the feed keeps an entry
 * until the furthest-behind group has acknowledged it. An endpoint's group is made when the endpoint is added
 * or enabled (it reads from then on; the feed is written while any group exists) and taken away when it is
 * disabled or removed (the stream too when no group is left: the feed is then not written).
 */

/** The single group of earlier versions, and the prefix of each endpoint's. */
export const FEED_GROUP = 'webhooks';
export const groupOf = (id: string): string => `${FEED_GROUP}:${id}`;
export const CONFIGURED_ID = 'env';
/** A rotated-out secret keeps signing this long, so that receivers can switch without losing a request. */
export const ROTATION_OVERLAP_MS = 24 * 3600_000;
export const MAX_BATCH = 1000;

export interface Endpoint {
  id: string;
  url: string;
  /** Filters: event types, `group.*`, or `*`; empty means every event. */
  events: string[];
  campaign: string | null;
  batch: number;
  created_at: string | null;
  disabled: { at: string; reason: string } | null;
  failing_since: string | null;
  last: { at: string; status: number | null; error: string | null } | null;
  counts: { delivered: number; failed: number; exhausted: number; dropped: number };
  /** Waiting for a retry, and exhausted (kept for replay). */
  retrying: number;
  exhausted: number;
}

/** Secrets stay out of every listing: only the dispatcher reads them. */
export interface EndpointSecrets {
  secrets: string[];
}

const iso = (ms: string | undefined): string | null => (ms ? new Date(Number(ms)).toISOString() : null);

function endpointOf(id: string, h: Record<string, string>, retrying: number, exhausted: number): Endpoint {
  return {
    id,
    url: h.url ?? '',
    events: h.events ? h.events.split(',') : [],
    campaign: h.campaign || null,
    batch: Number(h.batch ?? 1),
    created_at: iso(h.created_at),
    disabled: h.disabled_at ? { at: iso(h.disabled_at) as string, reason: h.disabled_reason ?? '' } : null,
    failing_since: iso(h.failing_since),
    last: h.last_at
      ? {
          at: iso(h.last_at) as string,
          status: h.last_status ? Number(h.last_status) : null,
          error: h.last_error || null,
        }
      : null,
    counts: {
      delivered: Number(h.delivered ?? 0),
      failed: Number(h.failed ?? 0),
      exhausted: Number(h.exhausted ?? 0),
      dropped: Number(h.dropped ?? 0),
    },
    retrying,
    exhausted,
  };
}

export interface NewEndpoint {
  url: string;
  events?: string[];
  campaign?: string | null;
  batch?: number;
  /** A `whsec_` secret to use; a new one is made without. */
  secret?: string;
  id?: string;
}

export class WebhookEndpoints {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Adds an endpoint; returns it with its secret (shown once). */
  async add(input: NewEndpoint): Promise<Endpoint & { secret: string }> {
    const id = input.id ?? `ep_${randomBytes(8).toString('hex')}`;
    const secret = input.secret ?? newSecret();
    // The group first: the feed is written, and kept for it, from the moment the endpoint exists.
    await ensureGroup(this.redis, this.keys.archive, groupOf(id));
    await this.redis
      .multi()
      .hset(this.keys.webhook(id), {
        url: input.url,
        secret,
        events: (input.events ?? []).join(','),
        campaign: input.campaign ?? '',
        batch: input.batch ?? 1,
        created_at: Date.now(),
      })
      .sadd(this.keys.webhooks, id)
      .incr(this.keys.webhooksVersion)
      .exec();
    return { ...((await this.get(id)) as Endpoint), secret };
  }

  /**
   * The endpoint WEBHOOK_URL declares, as the configuration now says (its delivery state is kept); without
   * WEBHOOK_URL, none.
   */
  async configure(declared: { url: string; secret: string; events: string[] } | undefined): Promise<void> {
    const key = this.keys.webhook(CONFIGURED_ID);
    if (!declared) {
      if ((await this.redis.sismember(this.keys.webhooks, CONFIGURED_ID)) === 1) await this.remove(CONFIGURED_ID);
      return;
    }
    if ((await this.redis.exists(key)) === 0) {
      await this.add({ ...declared, id: CONFIGURED_ID });
      return;
    }
    await this.redis
      .multi()
      .hset(key, { url: declared.url, secret: declared.secret, events: declared.events.join(',') })
      .hdel(key, 'previous_secret', 'previous_until')
      .incr(this.keys.webhooksVersion)
      .exec();
  }

  /** Changes whenever the endpoints or their settings do. */
  async version(): Promise<string> {
    return (await this.redis.get(this.keys.webhooksVersion)) ?? '0';
  }

  async ids(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.webhooks)).sort();
  }

  async get(id: string): Promise<Endpoint | undefined> {
    const [hash, retrying, exhausted] = await Promise.all([
      this.redis.hgetall(this.keys.webhook(id)),
      this.redis.zcard(this.keys.webhookRetries(id)),
      this.redis.llen(this.keys.webhookFailed(id)),
    ]);
    if (!hash.url) return undefined;
    return endpointOf(id, hash, retrying, exhausted);
  }

  async list(): Promise<Endpoint[]> {
    const out: Endpoint[] = [];
    for (const id of await this.ids()) {
      const endpoint = await this.get(id);
      if (endpoint) out.push(endpoint);
    }
    return out;
  }

  /** The secrets that sign a request now: the current one, and a rotated-out one during its overlap. */
  async secrets(id: string, now = Date.now()): Promise<string[]> {
    const [secret, previous, until] = await this.redis.hmget(
      this.keys.webhook(id),
      'secret',
      'previous_secret',
      'previous_until',
    );
    const out = secret ? [secret] : [];
    if (previous && Number(until) > now) out.push(previous);
    return out;
  }

  /** Removes an endpoint, its group and what it had waiting; true when there was one. */
  async remove(id: string): Promise<boolean> {
    const [[, removed]] = (await this.redis
      .multi()
      .srem(this.keys.webhooks, id)
      .del(this.keys.webhook(id), this.keys.webhookRetries(id), this.keys.webhookFailed(id))
      .incr(this.keys.webhooksVersion)
      .exec()) as [[null, number]];
    await this.closeGroup(id);
    return removed === 1;
  }

  /**
   * Gives an enabled endpoint its group if it has none (reading from now on), for a dispatcher about to read
   * through it. Returns false, with no group left behind, when the endpoint is disabled or gone: disable() and
   * remove() mark the endpoint before they take its group, so whichever runs second takes it.
   */
  async openGroup(id: string): Promise<boolean> {
    await ensureGroup(this.redis, this.keys.archive, groupOf(id));
    const [url, disabled] = await this.redis.hmget(this.keys.webhook(id), 'url', 'disabled_at');
    if (url && !disabled) return true;
    await this.closeGroup(id);
    return false;
  }

  /**
   * Takes an endpoint's group away; the stream too when no group is left to read it, so that the ledger's
   * scripts stop writing the feed (a long-term ledger's group keeps it).
   */
  private async closeGroup(id: string): Promise<void> {
    const groups = await groupsOf(this.redis, this.keys.archive);
    if (groups.some((g) => g.name === groupOf(id))) await this.redis.xgroup('DESTROY', this.keys.archive, groupOf(id));
    if (groups.every((g) => g.name === groupOf(id))) await this.redis.del(this.keys.archive);
  }

  /**
   * A feed read through the one `webhooks` group of earlier versions goes on through one group an enabled
   * endpoint, each made where the old one was (before its oldest unacknowledged entry): nothing is skipped.
   */
  async adoptLegacyGroup(): Promise<void> {
    const legacy = (await groupsOf(this.redis, this.keys.archive)).find((g) => g.name === FEED_GROUP);
    if (!legacy) return;
    let from = legacy.lastDelivered;
    const oldest = (await this.redis.xpending(this.keys.archive, FEED_GROUP, '-', '+', 1)) as Array<[string]>;
    if (oldest[0]) from = previousId(oldest[0][0]);
    for (const endpoint of await this.list())
      if (endpoint.disabled === null) await ensureGroup(this.redis, this.keys.archive, groupOf(endpoint.id), from);
    await this.redis.xgroup('DESTROY', this.keys.archive, FEED_GROUP);
  }

  /** A new secret (returned, shown once); the old one signs too for ROTATION_OVERLAP_MS. */
  async rotateSecret(id: string, now = Date.now()): Promise<string | undefined> {
    const key = this.keys.webhook(id);
    const current = await this.redis.hget(key, 'secret');
    if (!current) return undefined;
    const secret = newSecret();
    await this.redis.hset(key, {
      secret,
      previous_secret: current,
      previous_until: now + ROTATION_OVERLAP_MS,
    });
    return secret;
  }

  /** Lets a disabled endpoint have deliveries again, of events from now on; false when there is no such endpoint. */
  async enable(id: string): Promise<boolean> {
    if ((await this.redis.exists(this.keys.webhook(id))) === 0) return false;
    await this.redis
      .multi()
      .hdel(this.keys.webhook(id), 'disabled_at', 'disabled_reason', 'failing_since')
      .incr(this.keys.webhooksVersion)
      .exec();
    await this.openGroup(id);
    return true;
  }

  /**
   * Disables an endpoint (`gone`: it answered 410; `failing`: every delivery failed for too long) and appends
   * webhook.disabled to the feed in the same transaction, then takes its group (it holds back the feed no
   * more); false when it was disabled already.
   */
  async disable(id: string, url: string, reason: 'gone' | 'failing', now = Date.now()): Promise<boolean> {
    const key = this.keys.webhook(id);
    if ((await this.redis.hexists(key, 'disabled_at')) === 1) return false;
    const tx = this.redis
      .multi()
      .hset(key, 'disabled_at', now, 'disabled_reason', reason)
      .incr(this.keys.webhooksVersion);
    await execWithEvent(this.redis, this.keys, tx, 'webhook.disabled', id, { endpoint: id, url, reason });
    await this.closeGroup(id);
    return true;
  }

  /**
   * An attempt's outcome: the last one and the counts; a failure starts the endpoint's failing run (kept
   * until a delivery succeeds). Returns since when it has been failing (ms), undefined when it is not.
   */
  async recordAttempt(
    id: string,
    outcome: { result: 'delivered' | 'failed' | 'gone'; status: number | null; error?: string },
    now = Date.now(),
  ): Promise<number | undefined> {
    const key = this.keys.webhook(id);
    const tx = this.redis
      .multi()
      .hset(key, 'last_at', now, 'last_status', outcome.status ?? '', 'last_error', outcome.error ?? '')
      .hincrby(key, outcome.result === 'delivered' ? 'delivered' : 'failed', 1);
    if (outcome.result === 'delivered') {
      await tx.hdel(key, 'failing_since').exec();
      return undefined;
    }
    const replies = (await tx.hsetnx(key, 'failing_since', now).hget(key, 'failing_since').exec()) ?? [];
    return Number(replies[replies.length - 1]?.[1] ?? now);
  }

  /** Counts deliveries that ran out of attempts, or were dropped (a full retry set). */
  async count(id: string, field: 'exhausted' | 'dropped', n = 1): Promise<void> {
    await this.redis.hincrby(this.keys.webhook(id), field, n);
  }
}
