import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config.js';
import { laneRateMax } from '../../src/lanes/lanes.js';
import { laneQueueName } from '../../src/queue.js';
import type { Keys } from '../../src/redis/keys.js';
import {
  GrantCode,
  GrantVerdict,
  grantSends,
  ungrantSends,
  type GrantKeys,
  type GrantRequest,
  type LedgerCheck,
} from '../../src/scripts/index.js';
import { Breaker, type BreakerOptions } from './breaker.js';
import { RedisClock } from './clock.js';
import { giveAgain, type RegrantContext } from './late-grants.js';
import { pacingFor, type Pacing } from './pacing.js';
import type { GateRequest, Ticket } from './requests.js';
import { PausedSignal, signalOf } from './signals.js';

export { CampaignSignal, PausedSignal, SettledSignal, SkipSignal, TamperedSignal, WaitSignal } from './signals.js';
export type { GateRequest, Ticket } from './requests.js';

/**
 * The gate every HTTP request passes, retries included, in every worker process: one per sender lane, so
 * that a lane that must wait holds no other lane's requests. Requests waiting in a process queue up here,
 * and the process asks Redis for send grants for the head of its queue in one script
 * (src/scripts/grant-sends.lua: pause, the 429/outage hold and half-open probe of breaker.ts, the
 * account's and the lane's GCRA pace of pacing.ts, the ledger check, the campaign's state, the
 * session window, the pair interval and the messaging limit), one round trip for many requests.
 *
 * The grants are not tied to a process: a process that is late (a busy machine, a GC pause) does not waste
 * them, another process takes them, and a process up to burstMs late catches up with a short burst. The
 * same script marks each granted message in flight in the ledger (crash safety) and, for a message's first
 * request, reads whether it is already settled. Waiting costs no polling: a process sleeps until the next
 * grant is due, and at least minSleepMs, so that its grants come several at a time (fewer round trips and
 * wake-ups per request) while a sleep that runs late stays within burstMs.
 *
 * BullMQ's own limiter counts job starts in fixed windows (so up to twice the limit can pass around a
 * window boundary) and does not see p-retry's retries; this gate counts requests.
 */

/** What acquire() checks in the ledger first, in the grant script: nothing, settled, or settled or in flight. */
export type { LedgerCheck } from '../../src/scripts/index.js';

export interface SendGateOptions extends BreakerOptions {
  /** The account's limit (SEND_RATE_MAX) per windowMs. */
  max: number;
  windowMs: number;
  lane: string;
  /** The lane's limit per windowMs (SENDER_RATE_MAX or its SENDER_RATES entry); the account's when absent. */
  laneMax?: number;
  pairIntervalMs?: number;
  /** MESSAGING_LIMIT: a number, 'unlimited', or 'auto' (the tier of the latest phone_number_update). */
  messagingLimit?: number | 'unlimited' | 'auto';
  messagingWindowMs?: number;
  /** SESSION_CHECK=enforce. */
  sessionCheck?: boolean;
  /** How long a half-open probe may take before another one is allowed (the HTTP timeout and some). */
  probeTtlMs: number;
  /** Identifies this process (its probe token). */
  id: string;
}

/** A lane's gate options as the configuration sets them: what a send worker runs, for the process `id`. */
export function gateOptions(config: Config, lane: string, id: string): SendGateOptions {
  return {
    max: config.SEND_RATE_MAX,
    windowMs: config.SEND_RATE_DURATION_MS,
    lane,
    laneMax: laneRateMax(config, lane),
    pairIntervalMs: config.PAIR_INTERVAL_MS,
    messagingLimit: config.MESSAGING_LIMIT,
    messagingWindowMs: config.MESSAGING_WINDOW_MS,
    sessionCheck: config.SESSION_CHECK === 'enforce',
    outageThreshold: config.OUTAGE_THRESHOLD,
    cooldownMs: config.OUTAGE_COOLDOWN_MS,
    cooldownMaxMs: config.OUTAGE_COOLDOWN_MAX_MS,
    probeTtlMs: config.HTTP_TIMEOUT_MS + 1000,
    id,
  };
}

/** A request waiting at the gate: what the grant script is asked, and its promise. */
interface Waiter extends GrantRequest {
  started: number;
  resolve(ticket: Ticket): void;
  reject(error: Error): void;
}

/** At most this many requests are asked for in one round trip. */
const MAX_BATCH = 32;

export class SendGate {
  readonly breaker: Breaker;
  private readonly clock: RedisClock;
  private readonly pacing: Pacing;
  private readonly lanePacing: Pacing;
  private readonly regrant: RegrantContext;
  private counter = 0;
  private readonly abort = new AbortController();
  private readonly queue: Waiter[] = [];
  private pumping = false;
  /** Times a process waited at the gate (429s, cool-downs), for metrics. */
  gatedWaits = 0;
  /** Grants handed back because they reached the process later than tripMs. */
  lateGrants = 0;
  /** Grants that reached the process later than tripMs and were given again for their new time. */
  regrantedGrants = 0;

  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
    private readonly options: SendGateOptions,
  ) {
    this.breaker = new Breaker(client, keys, options);
    this.pacing = pacingFor(options.max, options.windowMs);
    this.lanePacing = pacingFor(Math.min(options.laneMax ?? options.max, options.max), options.windowMs);
    this.clock = new RedisClock(this.pacing.tripMs, this.pacing.maxLeadMs);
    this.regrant = {
      client,
      clock: this.clock,
      pacing: this.pacing,
      lanePacing: this.lanePacing,
      pairIntervalMs: options.pairIntervalMs ?? 0,
      outageThreshold: options.outageThreshold,
      sleep: (ms) => this.sleep(ms),
    };
    setMaxListeners(Number.POSITIVE_INFINITY, this.abort.signal);
  }

  get tripMs(): number {
    return this.pacing.tripMs;
  }

  get lane(): string {
    return this.options.lane;
  }

  /** Stops every wait at the gate (shutdown): waiting requests get a PausedSignal('closing'). */
  close(): void {
    this.abort.abort();
    this.failAll(new PausedSignal('closing'));
  }

  /**
   * Waits until this request may leave, and marks the message in flight in the ledger (attempts counted)
   * in the script that grants it. `check` reads the message's ledger entry first, in the same script, and
   * rejects with a SettledSignal when it needs no request.
   */
  acquire(request: GateRequest, check: LedgerCheck = 'none'): Promise<Ticket> {
    if (this.abort.signal.aborted) return Promise.reject(new PausedSignal('closing'));
    const k = this.keys;
    return new Promise<Ticket>((resolve, reject) => {
      this.queue.push({
        messageKey: k.message(request.requestId),
        campaignKey: k.campaign(request.campaign),
        pairKey: k.pair(this.options.lane, request.to),
        sessionKey: k.session(request.to),
        check,
        to: request.to,
        template: request.template,
        requestId: request.requestId,
        expiresAt: request.expiresAt,
        campaign: request.campaign,
        digest: request.digest,
        started: performance.now(),
        resolve,
        reject,
      });
      if (!this.pumping) {
        this.pumping = true;
        // Requests that arrive in the same turn of the event loop go in one round trip.
        setImmediate(() => void this.pump());
      }
    });
  }

  private failAll(error: Error): void {
    for (const waiter of this.queue.splice(0)) waiter.reject(error);
  }

  /** Asks for grants for the head of the queue until it is empty; one pump per process. */
  private async pump(): Promise<void> {
    const { spacingMs, burstMs, tripMs, minSleepMs } = this.pacing;
    const { options, keys: k } = this;
    const keys: GrantKeys = {
      accountPace: k.limiterNext,
      hold: k.limiterGate,
      breaker: k.breaker,
      probe: k.breakerProbe,
      laneMeta: k.bull(laneQueueName(options.lane), 'meta'),
      lanePace: k.lanePace(options.lane),
      laneState: k.lane(options.lane),
      tier: k.tier,
      tierHeld: k.tierHeld,
      control: k.control,
      suppressed: k.suppressed,
    };
    try {
      while (this.queue.length > 0) {
        if (this.abort.signal.aborted) throw new PausedSignal('closing');
        const asked = this.queue.slice(0, MAX_BATCH);
        const lead = this.clock.lead();
        const askedAt = performance.now();
        let reply;
        try {
          reply = await grantSends(this.client, {
            keys,
            spacingMs,
            burstMs,
            probeToken: `${options.id}:${++this.counter}`,
            outageThreshold: options.outageThreshold,
            probeTtlMs: options.probeTtlMs,
            leadMs: lead,
            laneSpacingMs: this.lanePacing.spacingMs,
            pairIntervalMs: options.pairIntervalMs ?? 0,
            messagingLimit: options.messagingLimit ?? 'unlimited',
            messagingWindowMs: options.messagingWindowMs ?? 86_400_000,
            sessionCheck: options.sessionCheck ?? false,
            requests: asked,
          });
        } catch (error) {
          // Redis refused or is gone: these requests fail like any Redis call would; the rest try again.
          this.queue.splice(0, asked.length);
          for (const waiter of asked) waiter.reject(error as Error);
          continue;
        }
        const { code, waitMs, probe, failures, verdicts } = reply;
        const grantedAt = this.clock.localTime(askedAt, reply.redisNow, performance.now());
        // The local time the grants are for; a request may leave from then until tripMs later.
        const sendAt = grantedAt + lead;
        if (code === GrantCode.Paused) {
          this.failAll(new PausedSignal('paused'));
          return;
        }
        if (code === GrantCode.Held) {
          this.gatedWaits++;
          await this.sleep(waitMs);
          continue;
        }
        let answered = 0;
        const granted: Waiter[] = [];
        for (; answered < asked.length; answered++) {
          const verdict = verdicts[answered];
          const waiter = asked[answered] as Waiter;
          if (verdict === GrantVerdict.Wait) break;
          if (verdict === GrantVerdict.Granted) granted.push(waiter);
          else waiter.reject(signalOf(verdict as string));
        }
        this.queue.splice(0, answered);
        if (granted.length > 0) {
          // Early (a lead the lag did not use up): wait for the grants' time.
          if (sendAt > performance.now()) await this.sleep(sendAt - performance.now());
          if (performance.now() - sendAt > tripMs) {
            // Too late: leaving now could crowd the requests of later grants. Given again for now when the
            // pace has room (the half-open probe excepted), else handed back and asked for again.
            let again = false;
            if (!probe) {
              try {
                again = await giveAgain(this.regrant, granted, keys);
              } catch (error) {
                // Redis refused, or the gate is closing: handed back if Redis still answers (not in flight,
                // not sent), and these requests fail as any Redis call would.
                await ungrantSends(this.client, { grants: granted }).catch(() => undefined);
                for (const waiter of granted) waiter.reject(error as Error);
                continue;
              }
            }
            if (!again) {
              this.lateGrants += granted.length;
              if (probe) {
                await ungrantSends(this.client, { grants: granted });
                await this.breaker.releaseProbe();
              }
              this.queue.unshift(...granted);
              continue;
            }
            this.regrantedGrants += granted.length;
          }
          for (const waiter of granted)
            waiter.resolve({
              probe,
              failuresSeen: failures > 0,
              waitedMs: performance.now() - waiter.started,
            });
        }
        // The next grant is due `waitMs` after the script ran; a process whose answers lag counts the lag in,
        // or it would ask late each time and lose the lag from every cycle.
        if (answered < asked.length)
          await this.sleep(Math.max(waitMs, minSleepMs) - (lead > 0 ? performance.now() - grantedAt : 0));
        // Let the granted requests leave before asking again (their dispatch is not the next grant's trip).
        else await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      this.failAll(error as Error);
    } finally {
      this.pumping = false;
      if (this.queue.length > 0) {
        this.pumping = true;
        setImmediate(() => void this.pump());
      }
    }
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch {
      throw new PausedSignal('closing');
    }
  }
}
