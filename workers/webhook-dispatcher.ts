import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import type { Config } from '../src/config.js';
import { WebhookDeliveries, type Delivery } from '../src/events/deliveries.js';
import { endpointAddressProblem, endpointUrlProblem } from '../src/events/endpoint-url.js';
import { CONFIGURED_ID, groupOf, WebhookEndpoints, type Endpoint } from '../src/events/endpoints.js';
import { batchId, bodyOf, campaignOf, eventOf, typeOf, type Lookups } from '../src/events/events.js';
import { entryOf, trimFeedAndSay, type RawEntry } from '../src/events/feed.js';
import { matchesFilters } from '../src/events/filters.js';
import type { OutgoingEvent } from '../src/events/operational.js';
import { toCampaign, type CampaignCounts } from '../src/ledger/records.js';
import type { Logger } from '../src/log.js';
import type { Keys } from '../src/redis/keys.js';
import { WebhookAttempts } from './webhook-attempts.js';

/**
 * The webhook dispatcher (run by the dashboard process). Each enabled endpoint has a lane of its own: it reads
 * the change feed through the endpoint's consumer group (`webhooks:<id>`, see src/events/endpoints.ts), turns
 * each entry its filters and campaign take into its event (src/events/events.ts), and delivers them, one
 * request an event or up to `batch` events a request; another loop of the lane attempts its due retries. A
 * slow or unreachable endpoint so delays only its own events: the others read on, and the feed keeps what the
 * slow one has not acknowledged (it is trimmed to the furthest-behind group, within FEED_MAX_ENTRIES).
 * Sending never waits on any of it: the feed is written by the ledger whether or not a request is made.
 *
 * At least once, per endpoint: its entries are acknowledged only when their first attempts have been made and
 * each failure scheduled for a retry; a dispatcher that dies before that leaves them pending in that endpoint's
 * group only, and it (at its next start) or another dispatcher (after CLAIM_IDLE_MS) delivers them again to
 * that endpoint, with the same `webhook-id`.
 *
 * The attempts themselves, their retries and the disabling of an endpoint are webhook-attempts.ts's: while an
 * endpoint is failing, its new events wait for their first retry rather than their time limits.
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

/** One endpoint's loops, and the connection its blocking reads hold. */
interface Lane {
  id: string;
  reader: Redis;
  stopped: boolean;
  done: Promise<void>;
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
  private readonly lanes = new Map<string, Lane>();
  private cached: { at: number; version: string; active: Active[] } | undefined;
  private lastTrim = 0;
  private wakers = new Set<() => void>();

  /** `reader`: a connection each endpoint's lane copies for its blocking reads. */
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
    this.loops = [
      this.forever('endpoints', async () => {
        if (!configured) await this.configure();
        configured = true;
        await this.laneLoop();
      }),
    ];
  }

  private async configure(): Promise<void> {
    const c = this.config;
    await this.endpoints.adoptLegacyGroup();
    await this.endpoints.configure(
      c.WEBHOOK_URL && c.WEBHOOK_SECRET
        ? { url: c.WEBHOOK_URL, secret: c.WEBHOOK_SECRET, events: c.WEBHOOK_EVENTS ?? [] }
        : undefined,
    );
    if (!c.WEBHOOK_URL) return;
    this.log.info({ endpoint: CONFIGURED_ID }, 'webhooks: the endpoint WEBHOOK_URL declares is on');
    // Every delivery to it would be refused: said once here rather than only in each failure.
    const problem =
      endpointUrlProblem(c.WEBHOOK_URL, c.WEBHOOK_ALLOW_PRIVATE) ??
      (await endpointAddressProblem(c.WEBHOOK_URL, c.WEBHOOK_ALLOW_PRIVATE));
    if (problem) this.log.warn({ endpoint: CONFIGURED_ID, problem }, 'webhooks: WEBHOOK_URL cannot be delivered to');
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    for (const lane of this.lanes.values()) lane.reader.disconnect();
    this.reader.disconnect();
    await Promise.all([...this.loops, ...[...this.lanes.values()].map((lane) => lane.done)]);
  }

  /** Runs a loop again after an error (Redis away), one line per error kind, until it or its lane stops. */
  private async forever(name: string, loop: () => Promise<void>, lane?: Lane): Promise<void> {
    let last: string | undefined;
    while (!this.stopped && !lane?.stopped) {
      try {
        await loop();
      } catch (error) {
        if (this.stopped || lane?.stopped) break;
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

  /** A lane for each enabled endpoint (a lane ends by itself once its endpoint is disabled or removed). */
  private async laneLoop(): Promise<void> {
    while (!this.stopped) {
      for (const { endpoint } of await this.active())
        if (!this.lanes.has(endpoint.id) && (await this.endpoints.openGroup(endpoint.id)))
          this.lanes.set(endpoint.id, this.startLane(endpoint.id));
      if (Date.now() - this.lastTrim >= TRIM_EVERY_MS) {
        this.lastTrim = Date.now();
        await trimFeedAndSay(this.redis, this.keys.archive, this.config.FEED_MAX_ENTRIES, this.log);
      }
      await this.pause(ENDPOINTS_TTL_MS);
    }
  }

  private startLane(id: string): Lane {
    const reader = this.reader.duplicate();
    // A failed read says what went wrong (and the feed loop logs it); the connection's own event need not.
    reader.on('error', () => {});
    const lane: Lane = { id, reader, stopped: false, done: Promise.resolve() };
    lane.done = Promise.all([
      this.forever(`feed (${id})`, () => this.feedLoop(lane), lane),
      this.forever(`retries (${id})`, () => this.retryLoop(lane), lane),
    ]).then(() => {
      reader.disconnect();
      this.lanes.delete(id);
    });
    return lane;
  }

  /** The lane's endpoint while it takes deliveries; else the lane stops. */
  private async current(lane: Lane): Promise<Active | undefined> {
    const active = (await this.active()).find((a) => a.endpoint.id === lane.id);
    if (!active) {
      lane.stopped = true;
      lane.reader.disconnect();
    }
    return active;
  }

  private async feedLoop(lane: Lane): Promise<void> {
    const group = groupOf(lane.id);
    let ownPending = true;
    let lastClaim = 0;
    while (!this.stopped && !lane.stopped) {
      const active = await this.current(lane);
      if (!active) return;
      let entries: RawEntry[];
      if (ownPending) {
        entries = await this.read(lane, '0', false);
        if (entries.length === 0) ownPending = false;
      } else if (Date.now() - lastClaim > this.claimIdleMs / 2) {
        lastClaim = Date.now();
        const [, claimed] = (await this.redis.xautoclaim(
          this.keys.archive,
          group,
          this.consumer,
          this.claimIdleMs,
          '0',
          'COUNT',
          this.readCount,
        )) as [string, RawEntry[]];
        entries = claimed;
      } else {
        entries = await this.read(lane, '>', true);
      }
      if (entries.length === 0) continue;
      await this.dispatch(active, entries);
      await this.redis.xack(this.keys.archive, group, ...entries.map(([id]) => id));
      if (!ownPending && entries.length < this.readCount && active.endpoint.batch > 1)
        await this.pause(this.config.WEBHOOK_BATCH_LINGER_MS);
    }
  }

  private async read(lane: Lane, from: '0' | '>', block: boolean): Promise<RawEntry[]> {
    const args: Array<string | number> = ['GROUP', groupOf(lane.id), this.consumer, 'COUNT', this.readCount];
    if (block) args.push('BLOCK', this.blockMs);
    const reply = (await (
      lane.reader.xreadgroup as (...a: Array<string | number>) => Promise<Array<[string, RawEntry[]]> | null>
    )(...args, 'STREAMS', this.keys.archive, from)) as Array<[string, RawEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** The endpoint's first attempts for the entries it takes (or their retries scheduled). */
  private async dispatch({ endpoint, failing }: Active, entries: RawEntry[]): Promise<void> {
    const wanted: OutgoingEvent[] = [];
    for (const raw of entries) {
      const entry = entryOf(raw);
      const type = entry && typeOf(entry);
      if (!entry || type === undefined || !matchesFilters(endpoint.events, type)) continue;
      const event = await eventOf(entry, this.lookups);
      if (event && (endpoint.campaign === null || campaignOf(event) === endpoint.campaign)) wanted.push(event);
    }
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
  }

  /** Attempts the endpoint's retries as they fall due. */
  private async retryLoop(lane: Lane): Promise<void> {
    const leaseMs = this.config.WEBHOOK_TIMEOUT_MS + 30_000;
    while (!this.stopped && !lane.stopped) {
      const active = await this.current(lane);
      if (!active) return;
      const due = await this.deliveries.due(lane.id, leaseMs, this.concurrency * 4);
      const limit = pLimit(this.concurrency);
      await Promise.all(
        due.map(({ member, delivery }) => limit(() => this.attempts.attempt(active.endpoint, delivery, member))),
      );
      if (due.length === 0) await this.pause(this.retryPollMs);
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
