import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { SEND_QUEUE, type Keys } from '../src/queue.js';

/**
 * The gate every HTTP request passes, retries included, in every worker process. Requests waiting in a
 * process queue up here, and the process asks Redis for send grants for the head of its queue in one
 * Lua script (one round trip for many requests), which decides with Redis's clock:
 *
 * 1. paused: the send queue is paused (by an operator or by an auth failure): do not send;
 * 2. gated: a 429's Retry-After or an outage cool-down is running: wait, then ask again;
 * 3. half-open: after a cool-down only one probe request may go until it succeeds or fails;
 * 4. otherwise a GCRA ("generic cell rate algorithm", one key holding the theoretical arrival time TAT)
 *    grants requests while TAT ≤ now + burstMs, each grant moving TAT on by spacingMs. Any span of T ms
 *    then holds at most ⌊(T + burstMs) / spacingMs⌋ + 1 grants. A granted request leaves at its grant's
 *    time; a grant that reaches its process more than tripMs after that is given up (see localTime()), so
 *    a request leaves within tripMs of its grant, and spacingMs = (windowMs + burstMs + tripMs) / max (and
 *    a hair) keeps any window of windowMs to at most `max` requests as they leave. Between them, burst and
 *    trip cost (burstMs + tripMs) / windowMs of the limit: 3% at 1 s windows. A grant's time is Redis's
 *    now, or later for a process whose answers lag (see lead()): the bound holds for any such times.
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

// KEYS: TAT, gate, breaker, probe, queue meta, then one ledger key per request asked for
// ARGV: spacing, burst, probe token, outage threshold, probe ttl, lead (the grants are for Redis's now +
//       lead), then one ledger check per request (0: none, 1: settled, 2: settled or in flight)
// Returns {code, wait, probe, failures, Redis's clock (ms), verdict per request}: code 0 = answered, 1 = gated for `wait` ms,
// 2 = paused. Verdicts: 'g' granted (marked in flight), 'w' not yet (ask again in `wait` ms), 'sent' /
// 'dead' (settled) or 'inflight' (in flight when a worker died): no grant taken. Requests are answered in
// order and the answer stops at the first one that must wait, so later ones are not read.
const GRANT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local n = #KEYS - 5
local out = {0, 0, 0, 0, string.format('%.3f', now)}
if redis.call('HEXISTS', KEYS[5], 'paused') == 1 then out[1] = 2 return out end
local gate = redis.call('PTTL', KEYS[2])
if gate > 0 then out[1] = 1 out[2] = gate return out end
local spacing = tonumber(ARGV[1])
local at = now + tonumber(ARGV[6])
local horizon = at + tonumber(ARGV[2])
local tat = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), at)
local failures = tonumber(redis.call('HGET', KEYS[3], 'failures') or '0')
local limit = n
if failures >= tonumber(ARGV[4]) then
  if tat > horizon then
    out[2] = string.format('%.3f', tat - horizon)
    for i = 1, n do out[5 + i] = 'w' end
    return out
  end
  if not redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[5]) then
    local p = redis.call('PTTL', KEYS[4])
    if p < 0 then p = 100 end
    out[1] = 1 out[2] = math.min(p, 250) out[4] = failures
    return out
  end
  out[3] = 1
  limit = 1
end
out[4] = failures
local granted = 0
local stamp = math.floor(at)
for i = 1, n do
  local key = KEYS[5 + i]
  local check = ARGV[6 + i]
  local verdict = nil
  if check ~= '0' then
    local m = redis.call('HMGET', key, 'status', 'inflight')
    if m[1] == 'sent' or m[1] == 'dead' then verdict = m[1]
    elseif check == '2' and m[2] then verdict = 'inflight' end
  end
  if not verdict then
    if granted < limit and tat <= horizon then
      verdict = 'g'
      granted = granted + 1
      tat = tat + spacing
      redis.call('HSET', key, 'inflight', stamp)
      redis.call('HINCRBY', key, 'attempts', 1)
    else
      for j = i, n do out[5 + j] = 'w' end
      break
    end
  end
  out[5 + i] = verdict
end
if granted > 0 then
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 60000)
end
if out[3] == 1 and granted == 0 then redis.call('DEL', KEYS[4]) out[3] = 0 end
out[2] = string.format('%.3f', math.max(0, tat - horizon))
return out
`;

// A grant that arrived too late to be used: the message is no longer in flight, and the attempt is not spent.
// KEYS: ledger keys
const UNGRANT = `
for i = 1, #KEYS do
  redis.call('HDEL', KEYS[i], 'inflight')
  redis.call('HINCRBY', KEYS[i], 'attempts', -1)
end
return #KEYS
`;

// KEYS: breaker, gate, probe, msg | ARGV: outcome (ok|fail), threshold, base cool-down, max cool-down, probe, clear inflight
const REPORT = `
if ARGV[6] == '1' then redis.call('HDEL', KEYS[4], 'inflight') end
if ARGV[5] == '1' then redis.call('DEL', KEYS[3]) end
if ARGV[1] == 'ok' then
  redis.call('HSET', KEYS[1], 'failures', 0, 'cooldown', ARGV[3])
  return 0
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local threshold = tonumber(ARGV[2])
if failures == threshold or (failures > threshold and ARGV[5] == '1') then
  local cooldown = tonumber(redis.call('HGET', KEYS[1], 'cooldown') or ARGV[3])
  redis.call('SET', KEYS[2], 'outage', 'PX', cooldown)
  redis.call('HSET', KEYS[1], 'cooldown', math.min(cooldown * 2, tonumber(ARGV[4])), 'opened_at', ARGV[7])
  redis.call('HINCRBY', KEYS[1], 'opened', 1)
  return cooldown
end
return 0
`;

/** The ledger says this message needs no request: already sent or dead, or in flight when a worker died. */
export class SettledSignal extends Error {
  override name = 'SettledSignal';
  constructor(readonly state: 'sent' | 'dead' | 'inflight') {
    super(`message is ${state}`);
  }
}

/** What acquire() checks in the ledger first, in the same script: nothing, settled, or settled or in flight. */
export type LedgerCheck = 'none' | 'settled' | 'settled-or-inflight';
const CHECK_ARG: Record<LedgerCheck, string> = { none: '0', settled: '1', 'settled-or-inflight': '2' };

export class PausedSignal extends Error {
  override name = 'PausedSignal';
  constructor(readonly why: 'paused' | 'closing') {
    super(why === 'paused' ? 'sending is paused' : 'worker is shutting down');
  }
}

export interface SendGateOptions {
  max: number;
  windowMs: number;
  outageThreshold: number;
  cooldownMs: number;
  cooldownMaxMs: number;
  /** How long a half-open probe may take before another one is allowed (the HTTP timeout and some). */
  probeTtlMs: number;
  /** Identifies this process (its probe token). */
  id: string;
}

export interface Ticket {
  probe: boolean;
  /** The breaker had failures when this grant was given (so a success must be reported). */
  failuresSeen: boolean;
  waitedMs: number;
}

interface Waiter {
  key: string;
  check: string;
  started: number;
  resolve(ticket: Ticket): void;
  reject(error: Error): void;
}

type GrantReply = [number, string | number, number, number, string, ...string[]];

interface GateCommands {
  waGrant(...args: Array<string | number>): Promise<GrantReply>;
  waUngrant(...args: Array<string | number>): Promise<number>;
  waReport(...args: Array<string | number>): Promise<number>;
}

/** At most this many requests are asked for in one round trip. */
const MAX_BATCH = 32;

export class SendGate {
  private readonly client: Redis & GateCommands;
  private counter = 0;
  private readonly abort = new AbortController();
  private readonly queue: Waiter[] = [];
  private pumping = false;
  /** Bounds on Redis's clock minus this process's (see localTime()). */
  private offsetCurrent = Number.POSITIVE_INFINITY;
  private offsetPrevious = Number.POSITIVE_INFINITY;
  private offsetSince = Number.NEGATIVE_INFINITY;
  /** The lag of the last answers: from the grant script's run to this process reading the answer. */
  private readonly lags = new Array<number>(9).fill(0);
  private lagIndex = 0;
  /** The largest lead asked for (see lead()). */
  private readonly maxLeadMs: number;
  /** How far ahead of its theoretical arrival time a grant may be given (a late process catches up). */
  readonly burstMs: number;
  /** How long a grant may take to reach its request; a later one is given up. */
  readonly tripMs: number;
  /** Milliseconds between two grants. */
  readonly spacingMs: number;
  /** The shortest sleep between two asks: several grants are fetched together (never more than burstMs). */
  private readonly minSleepMs: number;
  /** Times a process waited at the gate (429s, cool-downs), for metrics. */
  gatedWaits = 0;
  /** Grants given up because they reached the process later than tripMs. */
  lateGrants = 0;

  constructor(
    client: Redis,
    private readonly keys: Keys,
    private readonly options: SendGateOptions,
  ) {
    client.defineCommand('waGrant', { lua: GRANT });
    client.defineCommand('waUngrant', { lua: UNGRANT });
    client.defineCommand('waReport', { numberOfKeys: 4, lua: REPORT });
    this.client = client as Redis & GateCommands;
    this.burstMs = Math.max(15, Math.ceil(options.windowMs * 0.015));
    this.tripMs = Math.max(15, Math.ceil(options.windowMs * 0.015));
    // Strictly more than (window + burst + trip) / max: see the bound above.
    this.spacingMs = (options.windowMs + this.burstMs + this.tripMs) / options.max + 0.001;
    this.minSleepMs = Math.min(10, (this.burstMs * 2) / 3);
    this.maxLeadMs = options.windowMs / 4;
    setMaxListeners(Number.POSITIVE_INFINITY, this.abort.signal);
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
    const meta = k.bull(SEND_QUEUE, 'meta');
    try {
      while (this.queue.length > 0) {
        if (this.abort.signal.aborted) throw new PausedSignal('closing');
        const asked = this.queue.slice(0, MAX_BATCH);
        const lead = this.lead();
        const askedAt = performance.now();
        let reply: GrantReply;
        try {
          reply = await this.client.waGrant(
            asked.length + 5, k.limiterNext, k.limiterGate, k.breaker, k.breakerProbe, meta, ...asked.map((w) => w.key),
            this.spacingMs.toFixed(3), this.burstMs, `${this.options.id}:${++this.counter}`, this.options.outageThreshold, this.options.probeTtlMs,
            lead.toFixed(3), ...asked.map((w) => w.check),
          );
        } catch (error) {
          // Redis refused or is gone: these requests fail like any Redis call would; the rest try again.
          this.queue.splice(0, asked.length);
          for (const waiter of asked) waiter.reject(error as Error);
          continue;
        }
        const [code, wait, probe, failures, redisNow] = reply;
        const receivedAt = performance.now();
        const grantedAt = this.localTime(askedAt, Number(redisNow), receivedAt);
        this.noteLag(receivedAt - grantedAt);
        // The local time the grants are for; a request may leave from then until tripMs later.
        const sendAt = grantedAt + lead;
        if (code === 2) {
          this.failAll(new PausedSignal('paused'));
          return;
        }
        if (code === 1) {
          this.gatedWaits++;
          await this.sleep(Number(wait));
          continue;
        }
        let answered = 0;
        const granted: Waiter[] = [];
        for (; answered < asked.length; answered++) {
          const verdict = reply[5 + answered];
          const waiter = asked[answered] as Waiter;
          if (verdict === 'w') break;
          if (verdict === 'g') granted.push(waiter);
          else waiter.reject(new SettledSignal(verdict as 'sent' | 'dead' | 'inflight'));
        }
        this.queue.splice(0, answered);
        if (granted.length > 0) {
          // Early (a lead the lag did not use up): wait for the grants' time.
          if (sendAt > performance.now()) await this.sleep(sendAt - performance.now());
          if (performance.now() - sendAt > this.tripMs) {
            // Too late: leaving now could crowd the requests of later grants. Hand them back.
            this.lateGrants += granted.length;
            await this.client.waUngrant(granted.length, ...granted.map((w) => w.key));
            if (probe === 1) await this.client.del(k.breakerProbe);
            this.queue.unshift(...granted);
            continue;
          }
          for (const waiter of granted) waiter.resolve({ probe: probe === 1, failuresSeen: failures > 0, waitedMs: performance.now() - waiter.started });
        }
        // The next grant is due `wait` after the script ran; a process whose answers lag counts the lag in,
        // or it would ask late each time and lose the lag from every cycle.
        if (answered < asked.length) await this.sleep(Math.max(Number(wait), this.minSleepMs) - (lead > 0 ? performance.now() - grantedAt : 0));
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

  /**
   * The local time at which Redis ran the grant script (the clocks differ by an unknown offset). The script
   * ran after the ask left, so Redis's time minus the local time of the ask is never below the true offset;
   * the smallest such value seen lately is the tightest bound. The time found is never later than the true
   * one, so lateness is never underestimated; the outbound trip, before the grant, does not count.
   */
  private localTime(askedAt: number, redisNow: number, receivedAt: number): number {
    if (receivedAt - this.offsetSince > 5000) {
      // Two windows of 5 s: clocks that drift apart are followed within 10 s.
      this.offsetPrevious = this.offsetCurrent;
      this.offsetCurrent = Number.POSITIVE_INFINITY;
      this.offsetSince = receivedAt;
    }
    this.offsetCurrent = Math.min(this.offsetCurrent, redisNow - askedAt);
    return redisNow - Math.min(this.offsetCurrent, this.offsetPrevious);
  }

  private noteLag(ms: number): void {
    this.lags[this.lagIndex] = ms;
    this.lagIndex = (this.lagIndex + 1) % this.lags.length;
  }

  /**
   * How far ahead of Redis's clock to ask for grants. A process all of whose recent answers came back later
   * than tripMs (a starved machine, a slow link to Redis) would hand every grant back and never send; it
   * asks for grants dated when its answers arrive at the soonest (the shortest lag of its last answers), so
   * that they are on time then. Zero on a process that keeps up, even now and then.
   */
  private lead(): number {
    let shortest = Number.POSITIVE_INFINITY;
    for (const lag of this.lags) shortest = Math.min(shortest, lag);
    return shortest > this.tripMs ? Math.min(shortest - 1, this.maxLeadMs) : 0;
  }

  private async sleep(ms: number): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
    } catch {
      throw new PausedSignal('closing');
    }
  }

  /**
   * Tells the breaker how a request went. Only failures, probes and the first success after failures
   * are written, so a healthy run costs no extra round trip. Returns the cool-down started, if any.
   */
  async report(ticket: Ticket, ok: boolean, messageKey?: string, clearInflight = false): Promise<number> {
    if (ok && !ticket.probe && !ticket.failuresSeen && !clearInflight) return 0;
    const k = this.keys;
    return this.client.waReport(
      k.breaker, k.limiterGate, k.breakerProbe, messageKey ?? k.breaker,
      ok ? 'ok' : 'fail', this.options.outageThreshold, this.options.cooldownMs, this.options.cooldownMaxMs,
      ticket.probe ? 1 : 0, clearInflight && messageKey ? 1 : 0, Date.now(),
    );
  }

  /** Every worker waits this long before its next request (a 429's Retry-After). */
  async slowDown(ms: number): Promise<void> {
    const wanted = Math.max(1, Math.round(ms));
    // Never shorten a longer gate (an outage cool-down) that is already running.
    if ((await this.client.pttl(this.keys.limiterGate)) < wanted) {
      await this.client.set(this.keys.limiterGate, 'rate_limited', 'PX', wanted);
    }
  }

  /** Milliseconds until the gate opens (0 when open), and whether the breaker is tripped. */
  async state(): Promise<{ gateMs: number; tripped: boolean }> {
    const [pttl, failures] = await Promise.all([this.client.pttl(this.keys.limiterGate), this.client.hget(this.keys.breaker, 'failures')]);
    return { gateMs: Math.max(0, pttl), tripped: Number(failures ?? 0) >= this.options.outageThreshold };
  }
}
