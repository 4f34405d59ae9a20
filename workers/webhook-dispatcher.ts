import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import type { Config } from '../src/config.js';
import { WebhookDeliveries, type Delivery } from '../src/events/deliveries.js';
import { CONFIGURED_ID, FEED_GROUP, WebhookEndpoints, type Endpoint } from '../src/events/endpoints.js';
import { batchId, bodyOf, campaignOf, eventOf, type Lookups } from '../src/events/events.js';
import { ensureGroup, entryOf, trimFeedAndSay, type RawEntry } from '../src/events/feed.js';
import { matchesFilters } from '../src/events/filters.js';
import type { OutgoingEvent } from '../src/events/operational.js';
import { toCampaign, type CampaignCounts } from '../src/ledger/records.js';
import type { Logger } from '../src/log.js';
import type { Keys } from '../src/redis/keys.js';
import { WebhookAttempts } from './webhook-attempts.js';

/**
 * The webhook dispatcher (run by the dashboard process): reads the change feed through its consumer group
 * `webhooks`, turns each entry into its event (src/events/events.ts), and delivers every event to each
 * enabled endpoint whose filters and campaign take it: one request an event, or up to `batch` events a
 * request. Sending never waits on it: the feed is written by the ledger whether or not a request is made.
 *
 * At least once: entries are acknowledged only when every endpoint's first attempt has been made and each
 * failure scheduled for a retry; a dispatcher that dies before that leaves them pending, and it (at its next
 * start) or another dispatcher (after CLAIM_IDLE_MS) delivers them again, with the same `webhook-id`.
 *
 * The attempts themselves, their retries and the disabling of an endpoint are webhook-attempts.ts's; here,
 * the loops that call them: while an endpoint is failing its new events wait for their first retry instead of
 * holding up the feed for the others, and the due retries are looked for every `retryPollMs`.
 */

const CLAIM_IDLE_MS = 60_000;
const ENDPOINTS_TTL_MS = 1000;
const TRIM_EVERY_MS = 1000;

export interface DispatcherOptions {
  /** Entries read at a time. */
  readCount?: number;
  blockMs?: number;
  /** How often due retries are looked for. */
  retryPollMs?: number;
  /** Requests in flight per endpoint. */
  concurrency?: number;
  claimIdleMs?: number;
  /** A campaign's figures for its events (the ledger's, with PostgreSQL behind it); its Redis hash without. */
  campaign?: (id: string) => Promise<CampaignCounts | undefined>;
}

interface Active {
  endpoint: Endpoint;
  failing: boolean;
}

export class WebhookDispatcher {
  /**
   * The same name again after a restart on the same host and port: a dispatcher that died delivers what it
   * had read at its next start, not only after another claims it (CLAIM_IDLE_MS).
   */
  private readonly consumer: string;
  private readonly endpoints: WebhookEndpoints;
  private readonly deliveries: WebhookDeliveries;
  private readonly readCount: number;
  private readonly blockMs: number;
  private readonly retryPollMs: number;
  private readonly concurrency: number;
  private readonly claimIdleMs: number;
  private readonly lookups: Lookups;
  private readonly attempts: WebhookAttempts;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private cached: { at: number; version: string; active: Active[] } | undefined;
  private lastClaim = 0;
  private lastTrim = 0;
  private wakers = new Set<() => void>();

  /** `reader` is a connection of its own: a blocking read holds it. */
  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly keys: Keys,
    private readonly config: Config,
    private readonly log: Logger,
    options: DispatcherOptions = {},
  ) {
    this.consumer = `${hostname()}:${config.DASHBOARD_PORT}`;
    this.endpoints = new WebhookEndpoints(redis, keys);
    this.deliveries = new WebhookDeliveries(redis, keys);
    this.readCount = options.readCount ?? 500;
    this.blockMs = options.blockMs ?? 1000;
    this.retryPollMs = options.retryPollMs ?? 1000;
    this.concurrency = options.concurrency ?? 16;
    this.claimIdleMs = options.claimIdleMs ?? CLAIM_IDLE_MS;
    this.attempts = new WebhookAttempts(this.endpoints, this.deliveries, config, log, () => {
      this.cached = undefined;
    });
    this.lookups = {
      message: (requestId) => redis.hgetall(keys.message(requestId)),
      campaign: options.campaign ?? (async (id) => toCampaign(id, await redis.hgetall(keys.campaign(id)))),
    };
  }

  /** Declares WEBHOOK_URL's endpoint (or takes it away), then delivers until stopped. */
  start(): void {
    let configured = false;
    const feed = async () => {
      if (!configured) await this.configure();
      configured = true;
      await this.feedLoop();
    };
    this.loops = [this.forever('feed', feed), this.forever('retries', () => this.retryLoop())];
  }

  private async configure(): Promise<void> {
    const c = this.config;
    await this.endpoints.configure(
      c.WEBHOOK_URL && c.WEBHOOK_SECRET
        ? { url: c.WEBHOOK_URL, secret: c.WEBHOOK_SECRET, events: c.WEBHOOK_EVENTS ?? [] }
        : undefined,
    );
    if (c.WEBHOOK_URL) this.log.info({ endpoint: CONFIGURED_ID }, 'webhooks: the endpoint WEBHOOK_URL declares is on');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    this.reader.disconnect();
    await Promise.all(this.loops);
  }

  /** Runs a loop again after an error (Redis away), one line per error kind. */
  private async forever(name: string, loop: () => Promise<void>): Promise<void> {
    let last: string | undefined;
    while (!this.stopped) {
      try {
        await loop();
      } catch (error) {
        if (this.stopped) break;
        const message = (error as Error).message;
        if (message !== last) this.log.warn({ error: message }, `webhooks: the ${name} loop failed; it starts again`);
        last = message;
        await this.pause(1000);
      }
    }
  }

  /**
   * The endpoints that take deliveries: read again whenever they have changed (an endpoint added gets every
   * event from then on), and at least once a second (whether one is failing is only a hint).
   */
  private async active(): Promise<Active[]> {
    const version = await this.endpoints.version();
    if (this.cached && this.cached.version === version && Date.now() - this.cached.at < ENDPOINTS_TTL_MS)
      return this.cached.active;
    const active = (await this.endpoints.list())
      .filter((e) => e.disabled === null)
      .map((endpoint) => ({ endpoint, failing: endpoint.failing_since !== null && endpoint.retrying > 0 }));
    this.cached = { at: Date.now(), version, active };
    return active;
  }

  private async feedLoop(): Promise<void> {
    let ownPending = true;
    let grouped = false;
    while (!this.stopped) {
      if ((await this.redis.scard(this.keys.webhooks)) === 0) {
        // No endpoint: no group, so that the ledger does not write the feed for nobody.
        grouped = false;
        await this.pause(ENDPOINTS_TTL_MS);
        continue;
      }
      if (!grouped) await ensureGroup(this.redis, this.keys.archive, FEED_GROUP);
      grouped = true;
      let entries: RawEntry[];
      if (ownPending) {
        entries = await this.read('0', false);
        if (entries.length === 0) ownPending = false;
      } else if (Date.now() - this.lastClaim > this.claimIdleMs / 2) {
        this.lastClaim = Date.now();
        const [, claimed] = (await this.redis.xautoclaim(
          this.keys.archive,
          FEED_GROUP,
          this.consumer,
          this.claimIdleMs,
          '0',
          'COUNT',
          this.readCount,
        )) as [string, RawEntry[]];
        entries = claimed;
      } else {
        entries = await this.read('>', true);
      }
      if (entries.length > 0) {
        await this.dispatch(entries);
        await this.redis.xack(this.keys.archive, FEED_GROUP, ...entries.map(([id]) => id));
      }
      await this.trim();
      const batching = (await this.active()).some((a) => a.endpoint.batch > 1);
      if (!ownPending && entries.length > 0 && entries.length < this.readCount && batching)
        await this.pause(this.config.WEBHOOK_BATCH_LINGER_MS);
    }
  }

  private async read(from: '0' | '>', block: boolean): Promise<RawEntry[]> {
    const args: Array<string | number> = ['GROUP', FEED_GROUP, this.consumer, 'COUNT', this.readCount];
    if (block) args.push('BLOCK', this.blockMs);
    const reply = (await (
      this.reader.xreadgroup as (...a: Array<string | number>) => Promise<Array<[string, RawEntry[]]> | null>
    )(...args, 'STREAMS', this.keys.archive, from)) as Array<[string, RawEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }

  private async trim(): Promise<void> {
    if (Date.now() - this.lastTrim < TRIM_EVERY_MS) return;
    this.lastTrim = Date.now();
    await trimFeedAndSay(this.redis, this.keys.archive, this.config.FEED_MAX_ENTRIES, this.log);
  }

  /** Each endpoint's first attempts for these entries (or their retries scheduled). */
  private async dispatch(entries: RawEntry[]): Promise<void> {
    const events: OutgoingEvent[] = [];
    for (const raw of entries) {
      const entry = entryOf(raw);
      const event = entry && (await eventOf(entry, this.lookups));
      if (event) events.push(event);
    }
    if (events.length === 0) return;
    await Promise.all(
      (await this.active()).map(async ({ endpoint, failing }) => {
        const wanted = events.filter(
          (event) =>
            matchesFilters(endpoint.events, event.type) &&
            (endpoint.campaign === null || campaignOf(event) === endpoint.campaign),
        );
        if (wanted.length === 0) return;
        const requests: Delivery[] = [];
        const size = Math.max(1, endpoint.batch);
        for (let i = 0; i < wanted.length; i += size) {
          const group = wanted.slice(i, i + size);
          const batched = endpoint.batch > 1;
          requests.push({
            id: batched ? batchId(group) : (group[0] as OutgoingEvent).id,
            body: bodyOf(group, batched),
            attempts: 0,
            first: Date.now(),
          });
        }
        if (failing) {
          // Its requests would only wait out their time limits: they wait for its first retry instead.
          for (const delivery of requests) await this.attempts.later(endpoint, { ...delivery, attempts: 1 });
          return;
        }
        const limit = pLimit(this.concurrency);
        await Promise.all(requests.map((delivery) => limit(() => this.attempts.attempt(endpoint, delivery))));
      }),
    );
  }

  /** Attempts the retries that are due, every endpoint's at once (one that times out holds up no other). */
  private async retryLoop(): Promise<void> {
    const leaseMs = this.config.WEBHOOK_TIMEOUT_MS + 30_000;
    while (!this.stopped) {
      const tried = await Promise.all(
        (await this.active()).map(async ({ endpoint }) => {
          const due = await this.deliveries.due(endpoint.id, leaseMs, this.concurrency * 4);
          const limit = pLimit(this.concurrency);
          await Promise.all(
            due.map(({ member, delivery }) => limit(() => this.attempts.attempt(endpoint, delivery, member))),
          );
          return due.length;
        }),
      );
      if (tried.every((n) => n === 0)) await this.pause(this.retryPollMs);
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }
}
