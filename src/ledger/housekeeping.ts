import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AuditLog } from '../access/audit.js';
import type { Logger } from '../log.js';
import type { DeadJobData } from '../queue.js';
import type { Keys } from '../redis/keys.js';

/**
 * What has no TTL of its own in Redis and would otherwise grow without bound: dead-letter jobs (a BullMQ
 * job cannot expire by itself without leaving its id in the queue's list) and the index of campaigns.
 * Both go when their ledger records do, RESULT_TTL_DAYS after they were written: a dead letter by its
 * job's timestamp (when it died), a campaign by the time of its last enqueue (its counters' TTL).
 *
 * Workers and the dashboard run it at start and then every `intervalMs`; a lock lets one process of the
 * fleet do each round.
 */
export interface HousekeepingResult {
  deadLetters: number;
  campaigns: number;
}

export class Housekeeping {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly dead: Queue<DeadJobData>,
    private readonly maxAgeMs: number,
    private readonly log: Logger,
    private readonly intervalMs = 3_600_000,
  ) {}

  /** Removes what is older than maxAgeMs now. */
  async runOnce(): Promise<HousekeepingResult> {
    const cutoff = Date.now() - this.maxAgeMs;
    const [deadLetters, campaigns] = await Promise.all([
      this.dead.clean(this.maxAgeMs, 0, 'wait').then((ids) => ids.length),
      this.redis.zremrangebyscore(this.keys.campaigns, '-inf', `(${cutoff}`),
    ]);
    if (deadLetters + campaigns > 0)
      await new AuditLog(this.redis, this.keys, this.maxAgeMs).note({
        actor: 'system:housekeeping',
        action: 'housekeeping.expire',
        params: { dead_letters: deadLetters, campaigns },
      });
    if (deadLetters + campaigns > 0)
      this.log.info(
        { dead_letters: deadLetters, campaigns },
        'expired dead letters and campaigns older than RESULT_TTL_DAYS removed',
      );
    return { deadLetters, campaigns };
  }

  /** A round unless another process of the fleet has done one within the interval. */
  private async round(): Promise<void> {
    const mine = await this.redis.set(
      this.keys.housekeeping,
      String(process.pid),
      'PX',
      Math.max(1000, Math.floor(this.intervalMs / 2)),
      'NX',
    );
    if (mine) await this.runOnce();
  }

  start(): void {
    const tick = () => {
      this.running = this.round().catch(() => {
        // Redis away: the next round tries again (RedisHealth has logged the connection state).
      });
    };
    setImmediate(tick);
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
