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
 * 4. otherwise a slot in a sliding-window log (a sorted set of send times): the request gets the earliest
 *    time at which it is the only the `max`-th request of any window, so no window of `windowMs` ever
 *    holds more than `max` requests. Slots are handed out in order, so waiting requests are served FIFO
 *    with no polling.
 *
 * BullMQ's own limiter counts job starts in fixed windows and so can let up to twice the limit through
 * around a window boundary, and it does not see p-retry's retries; this gate counts requests.
 */

const ACQUIRE = `
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
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local n = redis.call('ZCARD', KEYS[1])
local at = now
if n >= max then
  local e = redis.call('ZRANGE', KEYS[1], n - max, n - max, 'WITHSCORES')
  at = math.max(now, tonumber(e[2]) + window)
end
redis.call('ZADD', KEYS[1], at, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + (at - now) + 1000)
if at == now and KEYS[6] ~= KEYS[5] then
  redis.call('HSET', KEYS[6], 'inflight', now)
  redis.call('HINCRBY', KEYS[6], 'attempts', 1)
end
return {0, at - now, probe, failures}
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
  /** The ledger's in-flight mark was set by the script. */
  marked: boolean;
  waitedMs: number;
}

interface GateCommands {
  waAcquire(...args: Array<string | number>): Promise<[number, number, number, number]>;
  waReport(...args: Array<string | number>): Promise<number>;
}

export class SendGate {
  private readonly client: Redis & GateCommands;
  private counter = 0;
  private readonly abort = new AbortController();
  /** Extra time added to the window, so timer and network jitter cannot squeeze two windows into one. */
  readonly guardMs: number;
  /** Time spent waiting at the gate (429s, cool-downs), for metrics. */
  gatedWaits = 0;

  constructor(
    client: Redis,
    private readonly keys: Keys,
    private readonly options: SendGateOptions,
  ) {
    client.defineCommand('waAcquire', { numberOfKeys: 6, lua: ACQUIRE });
    client.defineCommand('waReport', { numberOfKeys: 4, lua: REPORT });
    this.client = client as Redis & GateCommands;
    this.guardMs = Math.max(5, Math.ceil(options.windowMs * 0.02));
  }

  /** Stops every wait at the gate (shutdown): waiting requests get a PausedSignal('closing'). */
  close(): void {
    this.abort.abort();
  }

  /**
   * Waits until this request may leave. With `messageKey` the ledger's in-flight mark is set as the slot
   * is granted (in the same script when no wait is needed).
   */
  async acquire(messageKey?: string): Promise<Ticket> {
    const started = performance.now();
    const k = this.keys;
    for (;;) {
      if (this.abort.signal.aborted) throw new PausedSignal('closing');
      const member = `${this.options.id}:${++this.counter}`;
      const [code, ms, probe, failures] = await this.client.waAcquire(
        k.limiterWindow, k.limiterGate, k.breaker, k.breakerProbe, k.bullMeta(SEND_QUEUE), messageKey ?? k.bullMeta(SEND_QUEUE),
        this.options.max, this.options.windowMs + this.guardMs, member, this.options.outageThreshold, this.options.probeTtlMs,
      );
      if (code === 2) throw new PausedSignal('paused');
      if (code === 1) {
        this.gatedWaits++;
        await this.wait(ms);
        continue;
      }
      if (ms > 0) await this.wait(ms);
      return { probe: probe === 1, failuresSeen: failures > 0, marked: ms === 0 && messageKey !== undefined, waitedMs: performance.now() - started };
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
