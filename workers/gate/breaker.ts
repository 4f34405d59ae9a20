import type { Redis } from 'ioredis';
import type { Keys } from '../../src/redis/keys.js';
import { reportOutcome } from '../../src/scripts/index.js';

/**
 * The fleet-wide holds on sending, in Redis: a 429's Retry-After (every worker waits it out), and the outage
 * breaker (many consecutive transient failures of the whole fleet stop sending for a cool-down that doubles
 * each time the half-open probe fails). The grant script reads both; this module writes them, and an
 * operator's resume (src/lanes/fleet.ts) forgets them.
 */
export interface BreakerOptions {
  outageThreshold: number;
  cooldownMs: number;
  cooldownMaxMs: number;
}

/** What the grant said about the breaker, for the report that follows the request. */
export interface BreakerTicket {
  /** The request was the half-open probe. */
  probe: boolean;
  /** The breaker had failures when the grant was given (so a success must be reported). */
  failuresSeen: boolean;
}

export class Breaker {
  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly options: BreakerOptions,
  ) {}

  /**
   * How a request went; `notSent` names the message of a request that cannot have been accepted (its
   * in-flight mark and pair key go). Only failures, probes and the first success after failures are
   * written, so a healthy run costs no round trip. Returns the cool-down started, if any.
   */
  async report(ticket: BreakerTicket, ok: boolean, notSent?: { messageKey: string; pairKey: string }): Promise<number> {
    if (ok && !ticket.probe && !ticket.failuresSeen && !notSent) return 0;
    const { keys: k, options } = this;
    return reportOutcome(this.client, {
      keys: { breaker: k.breaker, hold: k.limiterGate, probe: k.breakerProbe },
      outcome: ok ? 'ok' : 'fail',
      threshold: options.outageThreshold,
      cooldownMs: options.cooldownMs,
      cooldownMaxMs: options.cooldownMaxMs,
      probe: ticket.probe,
      notSent,
      now: Date.now(),
    });
  }

  /** Every worker waits this long before its next request (a 429's Retry-After). */
  async slowDown(ms: number): Promise<void> {
    const wanted = Math.max(1, Math.round(ms));
    // Never shorten a longer hold (an outage cool-down) that is already running.
    if ((await this.client.pttl(this.keys.limiterGate)) < wanted) {
      await this.client.set(this.keys.limiterGate, 'rate_limited', 'PX', wanted);
    }
  }

  /** A probe given but not used (its grant was handed back): let another be given. */
  async releaseProbe(): Promise<void> {
    await this.client.del(this.keys.breakerProbe);
  }

  /** Milliseconds until sending resumes (0 when it is not held), and whether the breaker is open. */
  async state(): Promise<{ gateMs: number; tripped: boolean }> {
    const [pttl, failures] = await Promise.all([
      this.client.pttl(this.keys.limiterGate),
      this.client.hget(this.keys.breaker, 'failures'),
    ]);
    return { gateMs: Math.max(0, pttl), tripped: Number(failures ?? 0) >= this.options.outageThreshold };
  }
}
