import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import { WebhookEndpoints, type Endpoint } from '../../events/endpoints.js';
import { Lanes } from '../../lanes/lanes.js';
import type { Ledger } from '../../ledger/ledger.js';
import type { DeadJobData, SendJobData } from '../../queue.js';
import type { Keys } from '../../redis/keys.js';
import type { RedisHealth } from '../../redis/health.js';

/** What /metrics reads: the configuration, the ledger, Redis and its health, the queues. */
export interface MetricsSources {
  config: Config;
  ledger: Ledger;
  redis: Redis;
  health: RedisHealth;
  keys: Keys;
  send: Queue<SendJobData>;
  dead: Queue<DeadJobData>;
}

/** prom-client's value shape; `metricName` names histogram series (_bucket, _sum, _count). */
export type Values = Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>;

/** A metric whose values are read from Redis at scrape time. */
export class ExternalMetric {
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

export const num = (value: string | undefined) => Number(value ?? 0);

/** A read made at its first call in a scrape and shared by every metric of that scrape. */
function oncePerScrape<T>(read: () => Promise<T>): () => Promise<T> {
  let snapshot: Promise<T> | undefined;
  return () => (snapshot ??= read().finally(() => setImmediate(() => (snapshot = undefined))));
}

/**
 * The reads the metrics of one registry share, each made once per scrape: the fleet's counters (one HGETALL of
 * {prefix}:metrics, see src/status/fleet-stats.ts), the lanes, the webhook endpoints.
 */
export class Scrape {
  readonly lanes: Lanes;
  readonly stats: () => Promise<Record<string, string>>;
  readonly laneStates: () => ReturnType<Lanes['states']>;
  readonly webhookEndpoints: () => Promise<Endpoint[]>;

  constructor(readonly src: MetricsSources) {
    this.lanes = new Lanes(src.redis, src.keys, src.config);
    const endpoints = new WebhookEndpoints(src.redis, src.keys);
    this.stats = oncePerScrape(() => src.redis.hgetall(src.keys.metrics));
    this.laneStates = oncePerScrape(() => this.lanes.states());
    this.webhookEndpoints = oncePerScrape(() => endpoints.list());
  }

  /** The fleet counters whose field starts with `prefix`, labelled by the rest of the field. */
  async byPrefix(prefix: string, label: string): Promise<Values> {
    return Object.entries(await this.stats())
      .filter(([field]) => field.startsWith(prefix))
      .map(([field, value]) => ({ value: Number(value), labels: { [label]: field.slice(prefix.length) } }));
  }

  /** A counter shown as one fleet counter's field. */
  counter(name: string, help: string, field: string): ExternalMetric {
    return new ExternalMetric(name, help, 'counter', async () => [
      { value: num((await this.stats())[field]), labels: {} },
    ]);
  }
}
