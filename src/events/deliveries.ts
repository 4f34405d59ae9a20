import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';
import { takeDueRetries } from '../scripts/take-due-retries.js';

/**
 * An endpoint's deliveries that are not done: those waiting for a retry ({prefix}:endpoint:{id}:retries, a
 * sorted set by when the next attempt is due) and those whose attempts ran out ({prefix}:endpoint:{id}:failed,
 * newest first), both bounded. A delivery is its request: the `webhook-id` and the exact body, signed anew at
 * each attempt (the timestamp is the attempt's). A replay puts exhausted deliveries back as new.
 */

/** At most this many deliveries wait for a retry per endpoint; past it a failed one is dropped (and counted). */
export const MAX_RETRIES_WAITING = 100_000;
/** At most this many exhausted deliveries are kept per endpoint, the newest. */
export const MAX_EXHAUSTED = 10_000;

export interface Delivery {
  /** The `webhook-id`. */
  id: string;
  body: string;
  /** Attempts made so far. */
  attempts: number;
  /** When it was first attempted (ms). */
  first: number;
}

export interface ExhaustedDelivery extends Delivery {
  /** When it was given up (ms), and why. */
  at: number;
  status: number | null;
  error: string;
}

/** Each delay jittered by ±20%, so that retries of many deliveries that failed together spread out. */
export const jittered = (ms: number, random = Math.random): number => Math.round(ms * (0.8 + 0.4 * random()));

export class WebhookDeliveries {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Schedules a delivery's next attempt (`replacing`: the member it had, when it was a retry). Returns false
   * when the endpoint has MAX_RETRIES_WAITING already (the delivery is then not kept).
   */
  async schedule(endpoint: string, delivery: Delivery, dueAt: number, replacing?: string): Promise<boolean> {
    const key = this.keys.webhookRetries(endpoint);
    if (replacing === undefined && (await this.redis.zcard(key)) >= MAX_RETRIES_WAITING) return false;
    const tx = this.redis.multi();
    if (replacing !== undefined) tx.zrem(key, replacing);
    await tx.zadd(key, dueAt, JSON.stringify(delivery)).exec();
    return true;
  }

  /** Deliveries due now, leased to this dispatcher for `leaseMs`: with the member to settle each by. */
  async due(endpoint: string, leaseMs: number, count: number): Promise<Array<{ member: string; delivery: Delivery }>> {
    const members = await takeDueRetries(this.redis, {
      keys: { retries: this.keys.webhookRetries(endpoint) },
      now: Date.now(),
      leaseMs,
      count,
    });
    return members.map((member) => ({ member, delivery: JSON.parse(member) as Delivery }));
  }

  /** A retry that succeeded. */
  async done(endpoint: string, member: string): Promise<void> {
    await this.redis.zrem(this.keys.webhookRetries(endpoint), member);
  }

  /** A delivery out of attempts: kept (the newest MAX_EXHAUSTED) for `deliveries` and `replay`. */
  async exhaust(endpoint: string, delivery: ExhaustedDelivery, replacing?: string): Promise<void> {
    const key = this.keys.webhookFailed(endpoint);
    const tx = this.redis.multi();
    if (replacing !== undefined) tx.zrem(this.keys.webhookRetries(endpoint), replacing);
    await tx
      .lpush(key, JSON.stringify(delivery))
      .ltrim(key, 0, MAX_EXHAUSTED - 1)
      .exec();
  }

  async waiting(endpoint: string, limit = 100): Promise<Array<Delivery & { due: number }>> {
    const flat = await this.redis.zrange(this.keys.webhookRetries(endpoint), '0', String(limit - 1), 'WITHSCORES');
    const out: Array<Delivery & { due: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      out.push({ ...(JSON.parse(flat[i] as string) as Delivery), due: Number(flat[i + 1]) });
    return out;
  }

  async exhausted(endpoint: string, limit = 100): Promise<ExhaustedDelivery[]> {
    const items = await this.redis.lrange(this.keys.webhookFailed(endpoint), 0, limit - 1);
    return items.map((item) => JSON.parse(item) as ExhaustedDelivery);
  }

  /**
   * Puts exhausted deliveries back to be attempted now, with their attempts afresh (those given up at or after
   * `sinceMs`; all without). Their `webhook-id` stays. Returns how many.
   */
  async replay(endpoint: string, sinceMs = 0, now = Date.now()): Promise<number> {
    const key = this.keys.webhookFailed(endpoint);
    const items = await this.redis.lrange(key, 0, -1);
    const chosen = items.filter((item) => (JSON.parse(item) as ExhaustedDelivery).at >= sinceMs);
    if (chosen.length === 0) return 0;
    const tx = this.redis.multi();
    for (const item of chosen) {
      const { id, body, first } = JSON.parse(item) as ExhaustedDelivery;
      tx.zadd(this.keys.webhookRetries(endpoint), now, JSON.stringify({ id, body, attempts: 0, first }));
      tx.lrem(key, 1, item);
    }
    await tx.exec();
    return chosen.length;
  }
}
