import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { laneQueueName } from '../../src/queue.js';
import type { Keys } from '../../src/redis/keys.js';
import { GrantCode, GrantVerdict, scripts, type WaCommands } from '../../src/scripts/index.js';
import { Breaker, type BreakerOptions, type BreakerTicket } from './breaker.js';
import { RedisClock } from './clock.js';
import { pacingFor, type Pacing } from './pacing.js';
import { CampaignSignal, PausedSignal, SettledSignal, SkipSignal, WaitSignal } from './signals.js';

export { CampaignSignal, PausedSignal, SettledSignal, SkipSignal, WaitSignal } from './signals.js';

/**
 * The gate every HTTP request passes, retries included, in every worker process: one per sender lane, so
 * that a lane that must wait holds no other lane's requests. Requests waiting in a process queue up here,
 * and the process asks Redis for send grants for the head of its queue in one script
 * (src/scripts/grant-sends.lua: pause, the 429/outage hold and half-open probe of gate/breaker.ts, the
 * account's and the lane's GCRA pace of gate/pacing.ts, the ledger check, the campaign's state, the
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

/** What acquire() checks in the ledger first, in the same script: nothing, settled, or settled or in flight. */
export type LedgerCheck = 'none' | 'settled' | 'settled-or-inflight';
const CHECK_ARG: Record<LedgerCheck, string> = { none: '0', settled: '1', 'settled-or-inflight': '2' };

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

export interface Ticket extends BreakerTicket {
  waitedMs: number;
}

/** One request at the gate: the message and what its first ask is checked against. */
export interface GateRequest {
  requestId: string;
  campaign: string;
  /** The recipient (digits). */
  to: string;
  template: boolean;
  /** Epoch ms after which it must not leave (--expires-*). */
  expiresAt?: number | undefined;
}

interface Waiter {
  keys: [string, string, string, string];
  args: [string, string, string, string, string];
  started: number;
  resolve(ticket: Ticket): void;
  reject(error: Error): void;
}

/** At most this many requests are asked for in one round trip. */
const MAX_BATCH = 32;

export class SendGate {
  private readonly client: Redis & WaCommands;
  readonly breaker: Breaker;
  private readonly clock: RedisClock;
  private readonly pacing: Pacing;
  private readonly lanePacing: Pacing;
  private readonly fixedArgs: Array<string | number>;
  private counter = 0;
  private readonly abort = new AbortController();
  private readonly queue: Waiter[] = [];
  private pumping = false;
  /** Times a process waited at the gate (429s, cool-downs), for metrics. */
  gatedWaits = 0;
  /** Grants handed back because they reached the process later than tripMs. */
  lateGrants = 0;

  constructor(
    client: Redis,
    private readonly keys: Keys,
    private readonly options: SendGateOptions,
  ) {
    this.client = scripts(client);
    this.breaker = new Breaker(client, keys, options);
    this.pacing = pacingFor(options.max, options.windowMs);
    this.lanePacing = pacingFor(Math.min(options.laneMax ?? options.max, options.max), options.windowMs);
    this.clock = new RedisClock(this.pacing.tripMs, this.pacing.maxLeadMs);
    const limit = options.messagingLimit ?? 'unlimited';
    this.fixedArgs = [
      this.lanePacing.spacingMs.toFixed(3),
      options.pairIntervalMs ?? 0,
      limit === 'unlimited' ? -1 : limit,
      options.messagingWindowMs ?? 86_400_000,
      options.sessionCheck ? '1' : '0',
    ];
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
        keys: [
          k.message(request.requestId),
          k.campaign(request.campaign),
          k.pair(this.options.lane, request.to),
          k.session(request.to),
        ],
        args: [
          CHECK_ARG[check],
          request.to,
          request.template ? '1' : '0',
          request.requestId,
          String(request.expiresAt ?? 0),
        ],
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
    const k = this.keys;
    const { spacingMs, burstMs, tripMs, minSleepMs } = this.pacing;
    const lane = this.options.lane;
    const laneKeys = [
      k.bull(laneQueueName(lane), 'meta'),
      k.lanePace(lane),
      k.lane(lane),
      k.tier,
      k.tierHeld,
      k.control,
      k.suppressed,
    ];
    try {
      while (this.queue.length > 0) {
        if (this.abort.signal.aborted) throw new PausedSignal('closing');
        const asked = this.queue.slice(0, MAX_BATCH);
        const lead = this.clock.lead();
        const askedAt = performance.now();
        let reply;
        try {
          reply = await this.client.waGrantSends(
            asked.length * 4 + 11,
            k.limiterNext,
            k.limiterGate,
            k.breaker,
            k.breakerProbe,
            ...laneKeys,
            ...asked.flatMap((w) => w.keys),
            spacingMs.toFixed(3),
            burstMs,
            `${this.options.id}:${++this.counter}`,
            this.options.outageThreshold,
            this.options.probeTtlMs,
            lead.toFixed(3),
            ...this.fixedArgs,
            ...asked.flatMap((w) => w.args),
          );
        } catch (error) {
          // Redis refused or is gone: these requests fail like any Redis call would; the rest try again.
          this.queue.splice(0, asked.length);
          for (const waiter of asked) waiter.reject(error as Error);
          continue;
        }
        const [code, wait, probe, failures, redisNow] = reply;
        const grantedAt = this.clock.localTime(askedAt, Number(redisNow), performance.now());
        // The local time the grants are for; a request may leave from then until tripMs later.
        const sendAt = grantedAt + lead;
        if (code === GrantCode.Paused) {
          this.failAll(new PausedSignal('paused'));
          return;
        }
        if (code === GrantCode.Held) {
          this.gatedWaits++;
          await this.sleep(Number(wait));
          continue;
        }
        let answered = 0;
        const granted: Waiter[] = [];
        for (; answered < asked.length; answered++) {
          const verdict = reply[5 + answered];
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
            // Too late: leaving now could crowd the requests of later grants. Hand them back.
            this.lateGrants += granted.length;
            await this.client.waUngrantSends(granted.length * 2, ...granted.flatMap((w) => [w.keys[0], w.keys[2]]));
            if (probe === 1) await this.breaker.releaseProbe();
            this.queue.unshift(...granted);
            continue;
          }
          for (const waiter of granted)
            waiter.resolve({
              probe: probe === 1,
              failuresSeen: failures > 0,
              waitedMs: performance.now() - waiter.started,
            });
        }
        // The next grant is due `wait` after the script ran; a process whose answers lag counts the lag in,
        // or it would ask late each time and lose the lag from every cycle.
        if (answered < asked.length)
          await this.sleep(Math.max(Number(wait), minSleepMs) - (lead > 0 ? performance.now() - grantedAt : 0));
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

/** A verdict other than granted or wait, as the signal the processor acts on. */
function signalOf(verdict: string): Error {
  switch (verdict) {
    case GrantVerdict.Sent:
    case GrantVerdict.Dead:
    case GrantVerdict.InFlight:
      return new SettledSignal(verdict);
    case GrantVerdict.CampaignPaused:
    case GrantVerdict.CampaignCancelled:
      return new CampaignSignal(verdict);
    case GrantVerdict.NoSession:
      return new SkipSignal('no_session');
    case GrantVerdict.Expired:
      return new SkipSignal('expired');
    case GrantVerdict.Suppressed:
      return new SkipSignal('suppressed');
    default: {
      const [reason, ms] = verdict.split(':');
      if ((reason === 'pair' || reason === 'limit') && ms !== undefined) return new WaitSignal(reason, Number(ms));
      return new Error(`unexpected grant verdict "${verdict}"`);
    }
  }
}
