import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { SEND_QUEUE, type Keys } from '../src/queue.js';

/**
 * The gate every HTTP request passes, retries included, in every worker process. One Lua script, one
 * round trip, decides with Redis's clock:
 *
 * 1. paused: the send queue is paused (by an operator or by an auth failure): do not send;
 * 2. gated: a 429's Retry-After or an outage cool-down is running: wait, then ask again;
 * 3. half-open: after a cool-down only one probe request may go until it succeeds or fails;
 * 4. otherwise the next send slot. Slots are spaced evenly (a GCRA "theoretical arrival time" kept in
 *    one key): spacing = (windowMs + 2 × guardMs) / max. Any window of `windowMs` then holds at most
 *    `max` requests even when each request reaches the API up to `guardMs` after its slot; a request that
 *    is confirmed (by Redis's clock) more than ¾ guardMs late gives its slot up and takes a new one (the
 *    last quarter is left for the trip to the API), so event-loop stalls cannot squeeze requests together. Slots are handed out in order: waiting requests are served first come, first served,
 *    with no polling. The guard costs 2 × guardMs / windowMs of throughput (4% at the defaults).
 *
 * BullMQ's own limiter counts job starts in fixed windows and so can let up to twice the limit through
 * around a window boundary, and it does not see p-retry's retries; this gate counts requests.
 */

// KEYS: next slot, gate, breaker, probe, queue meta, msg (or the meta key: none)
// ARGV: spacing, window, member, outage threshold, probe ttl, ledger check (0: none, 1: settled, 2: settled or in flight)
// Returns {code, delay, probe, failures, slot}: 0 = go after delay, 1 = gated for delay, 2 = paused,
// 3 = the message is settled (slot = its status) or was in flight (slot = 'inflight'): no slot taken.
const ACQUIRE = `
if ARGV[6] ~= '0' then
  local m = redis.call('HMGET', KEYS[6], 'status', 'inflight')
  if m[1] == 'sent' or m[1] == 'dead' then return {3, 0, 0, 0, m[1]} end
  if ARGV[6] == '2' and m[2] then return {3, 0, 0, 0, 'inflight'} end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HEXISTS', KEYS[5], 'paused') == 1 then return {2, 0, 0, 0} end
local gate = redis.call('PTTL', KEYS[2])
if gate > 0 then return {1, gate, 0, 0} end
local failures = tonumber(redis.call('HGET', KEYS[3], 'failures') or '0')
local probe = 0
if failures >= tonumber(ARGV[4]) then
  if redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[5]) then
    probe = 1
  else
    local p = redis.call('PTTL', KEYS[4])
    if p < 0 then p = 100 end
    return {1, math.min(p, 250), 0, failures}
  end
end
local spacing = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, tat)
local nextAt = at + spacing
redis.call('SET', KEYS[1], string.format('%.3f', nextAt), 'PX', math.ceil(nextAt - now) + 60000)
if at - now < 1 and KEYS[6] ~= KEYS[5] then
  redis.call('HSET', KEYS[6], 'inflight', now)
  redis.call('HINCRBY', KEYS[6], 'attempts', 1)
end
return {0, string.format('%.3f', at - now), probe, failures, string.format('%.3f', at)}
`;

// After waiting for its slot: still on time (by Redis's clock)? Then mark the message in flight.
// KEYS: msg | ARGV: slot time, tolerance
const CONFIRM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
if now - tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'inflight', math.floor(now))
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return 1
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
  /** Identifies this process in the window log. */
  id: string;
}

export interface Ticket {
  probe: boolean;
  /** The breaker had failures when this slot was given (so a success must be reported). */
  failuresSeen: boolean;
  waitedMs: number;
}

interface GateCommands {
  waAcquire(...args: Array<string | number>): Promise<[number, string, number, number, string]>;
  waConfirm(...args: Array<string | number>): Promise<number>;
  waReport(...args: Array<string | number>): Promise<number>;
}

export class SendGate {
  private readonly client: Redis & GateCommands;
  private counter = 0;
  private readonly abort = new AbortController();
  /** How late after its slot a request may still leave (timer and event-loop jitter). */
  readonly guardMs: number;
  /** Milliseconds between two slots. */
  readonly spacingMs: number;
  /** A request confirmed later than this after its slot gives the slot up (the rest of guardMs covers the trip to the API). */
  readonly lateToleranceMs: number;
  /** Time spent waiting at the gate (429s, cool-downs), for metrics. */
  gatedWaits = 0;
  /** Slots given up because the process woke more than guardMs late. */
  lateWakeups = 0;

  constructor(
    client: Redis,
    private readonly keys: Keys,
    private readonly options: SendGateOptions,
  ) {
    client.defineCommand('waAcquire', { numberOfKeys: 6, lua: ACQUIRE });
    client.defineCommand('waReport', { numberOfKeys: 4, lua: REPORT });
    client.defineCommand('waConfirm', { numberOfKeys: 1, lua: CONFIRM });
    this.client = client as Redis & GateCommands;
    this.guardMs = Math.max(20, Math.ceil(options.windowMs * 0.02));
    this.spacingMs = (options.windowMs + 2 * this.guardMs) / options.max;
    this.lateToleranceMs = (this.guardMs * 3) / 4;
    setMaxListeners(Number.POSITIVE_INFINITY, this.abort.signal);
  }

  /** Stops every wait at the gate (shutdown): waiting requests get a PausedSignal('closing'). */
  close(): void {
    this.abort.abort();
  }

  /**
   * Waits until this request may leave. With `messageKey` the ledger's in-flight mark is set (and its
   * attempts counted) in the same script that grants or confirms the slot: no extra round trip. `check`
   * reads the message's ledger entry first in the same script, and throws a SettledSignal when it needs
   * no request.
   */
  async acquire(messageKey?: string, check: LedgerCheck = 'none'): Promise<Ticket> {
    const started = performance.now();
    const k = this.keys;
    for (;;) {
      if (this.abort.signal.aborted) throw new PausedSignal('closing');
      const member = `${this.options.id}:${++this.counter}`;
      const [code, delay, probe, failures, slotAt] = await this.client.waAcquire(
        k.limiterNext, k.limiterGate, k.breaker, k.breakerProbe, k.bull(SEND_QUEUE, 'meta'), messageKey ?? k.bull(SEND_QUEUE, 'meta'),
        this.spacingMs.toFixed(3), this.options.windowMs, member, this.options.outageThreshold, this.options.probeTtlMs,
        messageKey ? CHECK_ARG[check] : '0',
      );
      const ms = Number(delay);
      if (code === 3) throw new SettledSignal(slotAt as 'sent' | 'dead' | 'inflight');
      if (code === 2) throw new PausedSignal('paused');
      if (code === 1) {
        this.gatedWaits++;
        await this.wait(ms);
        continue;
      }
      if (ms >= 1) {
        const due = performance.now() + ms;
        await this.wait(ms);
        const onTime = messageKey
          ? (await this.client.waConfirm(messageKey, slotAt, this.lateToleranceMs)) === 1
          : performance.now() - due <= this.lateToleranceMs;
        if (!onTime) {
          // Woke too late: leaving now could crowd the requests of later slots. Take a new slot.
          this.lateWakeups++;
          if (probe === 1) await this.client.del(k.breakerProbe);
          continue;
        }
      }
      return { probe: probe === 1, failuresSeen: failures > 0, waitedMs: performance.now() - started };
    }
  }

  private async wait(ms: number): Promise<void> {
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
