import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { SEND_QUEUE, type Keys } from '../src/queue.js';
import { GrantCode, GrantVerdict, scripts, type WaCommands } from '../src/scripts/index.js';
import { Breaker, type BreakerOptions, type BreakerTicket } from './gate/breaker.js';
import { RedisClock } from './gate/clock.js';
import { pacingFor, type Pacing } from './gate/pacing.js';
import { PausedSignal, SettledSignal } from './gate/signals.js';

export { PausedSignal, SettledSignal } from './gate/signals.js';

/**
 * The gate every HTTP request passes, retries included, in every worker process. Requests waiting in a
 * process queue up here, and the process asks Redis for send grants for the head of its queue in one
 * script (src/scripts/grant-sends.lua: pause, the 429/outage hold and half-open probe of gate/breaker.ts,
 * the GCRA pace of gate/pacing.ts, and the ledger check), one round trip for many requests.
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
  max: number;
  windowMs: number;
  /** How long a half-open probe may take before another one is allowed (the HTTP timeout and some). */
  probeTtlMs: number;
  /** Identifies this process (its probe token). */
  id: string;
}

export interface Ticket extends BreakerTicket {
  waitedMs: number;
}

interface Waiter {
  key: string;
  check: string;
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
    this.clock = new RedisClock(this.pacing.tripMs, this.pacing.maxLeadMs);
    setMaxListeners(Number.POSITIVE_INFINITY, this.abort.signal);
  }

  get tripMs(): number {
    return this.pacing.tripMs;
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
  acquire(messageKey: string, check: LedgerCheck = 'none'): Promise<Ticket> {
    if (this.abort.signal.aborted) return Promise.reject(new PausedSignal('closing'));
    return new Promise<Ticket>((resolve, reject) => {
      this.queue.push({ key: messageKey, check: CHECK_ARG[check], started: performance.now(), resolve, reject });
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
    try {
      while (this.queue.length > 0) {
        if (this.abort.signal.aborted) throw new PausedSignal('closing');
        const asked = this.queue.slice(0, MAX_BATCH);
        const lead = this.clock.lead();
        const askedAt = performance.now();
        let reply;
        try {
          reply = await this.client.waGrantSends(
            asked.length + 5, k.limiterNext, k.limiterGate, k.breaker, k.breakerProbe, k.bull(SEND_QUEUE, 'meta'), ...asked.map((w) => w.key),
            spacingMs.toFixed(3), burstMs, `${this.options.id}:${++this.counter}`, this.options.outageThreshold, this.options.probeTtlMs,
            lead.toFixed(3), ...asked.map((w) => w.check),
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
          else waiter.reject(new SettledSignal(verdict as 'sent' | 'dead' | 'inflight'));
        }
        this.queue.splice(0, answered);
        if (granted.length > 0) {
          // Early (a lead the lag did not use up): wait for the grants' time.
          if (sendAt > performance.now()) await this.sleep(sendAt - performance.now());
          if (performance.now() - sendAt > tripMs) {
            // Too late: leaving now could crowd the requests of later grants. Hand them back.
            this.lateGrants += granted.length;
            await this.client.waUngrantSends(granted.length, ...granted.map((w) => w.key));
            if (probe === 1) await this.breaker.releaseProbe();
            this.queue.unshift(...granted);
            continue;
          }
          for (const waiter of granted) waiter.resolve({ probe: probe === 1, failuresSeen: failures > 0, waitedMs: performance.now() - waiter.started });
        }
        // The next grant is due `wait` after the script ran; a process whose answers lag counts the lag in,
        // or it would ask late each time and lose the lag from every cycle.
        if (answered < asked.length) await this.sleep(Math.max(Number(wait), minSleepMs) - (lead > 0 ? performance.now() - grantedAt : 0));
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
