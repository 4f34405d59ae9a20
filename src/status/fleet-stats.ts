import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Counters of one worker process, kept in memory on the hot path and added to a Redis hash about once a
 * second, so `/metrics` on the dashboard shows the whole fleet. Latency is a fixed-bucket histogram.
 */

export const LATENCY_BUCKETS_S = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const BUCKET_FIELDS = LATENCY_BUCKETS_S.map((bucket) => `latency_le:${bucket}`);
const STATUS_FIELDS = new Map<number | undefined, string>();

/**
 * Adds counts to the fleet's counters ({prefix}:metrics): the one writer of that hash, for every process
 * (workers through WorkerStats, the callback worker, the dashboard's disconnect count).
 */
export async function addFleetCounts(client: Redis, key: string, counts: ReadonlyMap<string, number>): Promise<void> {
  if (counts.size === 0) return;
  await fleetCountsInto(client.pipeline(), key, counts).exec();
}

/** The same counts added to a pipeline or transaction of the caller's (written with what else it holds). */
export function fleetCountsInto<T extends ChainableCommander>(
  commands: T,
  key: string,
  counts: ReadonlyMap<string, number>,
): T {
  for (const [field, by] of counts) commands.hincrby(key, field, by);
  return commands;
}

/** The counter of messages skipped for `reason` (wa_bulk_messages_skipped_total{reason}). */
const skippedField = (reason: string) => `skipped:${reason}`;

/** Messages skipped outside a worker (a cancel), counted where the workers count theirs. */
export async function addSkipped(client: Redis, key: string, reason: string, count: number): Promise<void> {
  if (count > 0) await addFleetCounts(client, key, new Map([[skippedField(reason), count]]));
}

/** A callback refused before it was read (`source`: not from CALLBACK_ALLOW_FROM). */
export async function addCallbackRefused(client: Redis, key: string, reason: string): Promise<void> {
  await addFleetCounts(client, key, new Map([[`callback_refused:${reason}`, 1]]));
}

export class WorkerStats {
  private pending = new Map<string, number>();
  private readonly laneFields = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Redis,
    private readonly key: string,
  ) {}

  private add(field: string, by = 1): void {
    this.pending.set(field, (this.pending.get(field) ?? 0) + by);
  }

  sent(lane?: string): void {
    this.add('sent');
    if (lane === undefined) return;
    // The lane's field, built once per lane rather than once per message.
    let field = this.laneFields.get(lane);
    if (field === undefined) this.laneFields.set(lane, (field = `sent_lane:${lane}`));
    this.add(field);
  }
  skipped(reason: string): void {
    this.add(skippedField(reason));
  }
  dead(code: number | null): void {
    this.add(`dead:${code ?? 'none'}`);
  }
  /** A marketing template waited: its recipient rests after Meta's 131049 (src/recipients/fatigue.ts). */
  rested(): void {
    this.add('marketing_rest_waits');
  }
  retry(): void {
    this.add('retries');
  }
  rateLimited(): void {
    this.add('rate_limited');
  }
  /** This process lost its Redis connection (counted once Redis is back). */
  redisDisconnect(): void {
    this.add('redis_disconnects');
  }
  waited(ms: number): void {
    this.add('limiter_waits');
    this.add('limiter_wait_ms', Math.round(ms));
  }
  request(durationMs: number, status: number | undefined): void {
    const seconds = durationMs / 1000;
    let statusField = STATUS_FIELDS.get(status);
    if (statusField === undefined) STATUS_FIELDS.set(status, (statusField = `http:${status ?? 'error'}`));
    this.add(statusField);
    this.add('latency_count');
    this.add('latency_sum_ms', Math.round(durationMs));
    for (let i = 0; i < LATENCY_BUCKETS_S.length; i++)
      if (seconds <= (LATENCY_BUCKETS_S[i] as number)) this.add(BUCKET_FIELDS[i] as string);
  }

  start(intervalMs = 1000): void {
    this.timer ??= setInterval(() => void this.flush().catch(() => {}), intervalMs);
    this.timer.unref();
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    await addFleetCounts(this.client, this.key, batch);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
