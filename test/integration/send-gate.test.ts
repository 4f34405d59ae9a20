import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { grantSends, regrantSends, ungrantSends } from '../../src/scripts/index.js';
import { maxInSlidingWindow } from '../../src/simulator/simulator.js';
import { PausedSignal, SendGate, SettledSignal, type Ticket } from '../../workers/gate/send-gate.js';
import { harness, testConfig, type Harness } from '../helpers/env.js';

/**
 * The send gate against a real Redis: the grants it hands out keep the limit's bound (read from the
 * in-flight stamps the grant script writes, by Redis's clock), several processes share one limit, a grant
 * that comes back too late is given again for its new time when the pace has room and handed back when it
 * has not, and settled messages take no grant.
 */

let h: Harness | undefined;
const opened: Array<{ gate: SendGate; client: Redis }> = [];
afterEach(async () => {
  for (const { gate, client } of opened.splice(0)) {
    gate.close();
    client.disconnect();
  }
  await h?.close();
  h = undefined;
});

function gateFor(harnessed: Harness, max: number, windowMs = 1000, port?: number, pairIntervalMs = 0): SendGate {
  // Each gate has its own connection, as each worker process has.
  const client = new Redis({ ...harnessed.redis.options, ...(port && { host: '127.0.0.1', port }) });
  const gate = new SendGate(client, harnessed.keys, {
    max,
    windowMs,
    lane: 'default',
    pairIntervalMs,
    outageThreshold: 5,
    cooldownMs: 1000,
    cooldownMaxMs: 5000,
    probeTtlMs: 3000,
    id: `test-${opened.length}`,
  });
  opened.push({ gate, client });
  return gate;
}

/** A TCP proxy to Redis that holds every answer back for `delayMs`: a process whose answers always lag. */
async function laggingProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => socket.destroy()).on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.on('data', (chunk) => setTimeout(() => client.writable && client.write(chunk), delayMs));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A request of one message (all to one recipient: the pair interval is off in these gates). */
const req = (requestId: string) => ({ requestId, campaign: 'gate', to: '447911123456', template: false });

const busyFor = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

describe('send gate', () => {
  it('grants no more than the limit in any window, across processes, and marks each message in flight once', async () => {
    const harnessed = (h = harness(testConfig()));
    const [a, b] = [gateFor(harnessed, 50), gateFor(harnessed, 50)];
    const ids = Array.from({ length: 130 }, (_, i) => `m${i}`);
    const tickets = await Promise.all(ids.map((id, i) => (i % 2 === 0 ? a : b).acquire(req(id), 'settled')));
    expect(tickets).toHaveLength(130);

    const stamps: number[] = [];
    for (const id of ids) {
      const entry = await harnessed.redis.hmget(harnessed.ledger.keys.message(id), 'inflight', 'attempts');
      expect(entry[1]).toBe('1');
      stamps.push(Number(entry[0]));
    }
    stamps.sort((x, y) => x - y);
    // Stamps are whole milliseconds of Redis's clock: any 1,000 ms of them holds at most 50.
    expect(maxInSlidingWindow(stamps, 1000)).toBeLessThanOrEqual(50);
    // 130 grants at 50 per second cannot all come in the first two seconds.
    expect((stamps.at(-1) as number) - (stamps[0] as number)).toBeGreaterThan(2000);
  }, 20_000);

  it('answers settled messages without taking a grant, and grants the rest', async () => {
    const harnessed = (h = harness(testConfig()));
    const gate = gateFor(harnessed, 10);
    const key = (id: string) => harnessed.ledger.keys.message(id);
    await harnessed.redis.hset(key('done'), 'status', 'sent');
    await harnessed.redis.hset(key('gone'), 'status', 'dead');
    await harnessed.redis.hset(key('crashed'), 'status', 'pending', 'inflight', '1');
    const outcomes = await Promise.allSettled([
      gate.acquire(req('done'), 'settled'),
      gate.acquire(req('gone'), 'settled'),
      gate.acquire(req('crashed'), 'settled-or-inflight'),
      gate.acquire(req('fresh'), 'settled-or-inflight'),
    ]);
    const states = outcomes.map((o) => (o.status === 'rejected' ? (o.reason as SettledSignal).state : 'granted'));
    expect(states).toEqual(['sent', 'dead', 'inflight', 'granted']);
    expect(outcomes.slice(0, 3).every((o) => o.status === 'rejected' && o.reason instanceof SettledSignal)).toBe(true);
    // The settled ones took no grant: no attempt counted, no in-flight mark added or cleared.
    for (const id of ['done', 'gone', 'crashed']) expect(await harnessed.redis.hget(key(id), 'attempts')).toBeNull();
    expect(await harnessed.redis.hget(key('done'), 'inflight')).toBeNull();
    expect(await harnessed.redis.hget(key('gone'), 'inflight')).toBeNull();
    expect(await harnessed.redis.hget(key('crashed'), 'inflight')).toBe('1');
    // One grant used (a grant that reached this process too late on a busy machine is handed back, its
    // attempt undone, and asked for again).
    expect(await harnessed.redis.hget(key('fresh'), 'attempts')).toBe('1');
    expect(await harnessed.redis.hget(key('fresh'), 'inflight')).not.toBeNull();
  });

  it('holds a recipient to the pair interval within one ask, and leaves no pair key for a request not granted', async () => {
    const harnessed = (h = harness(testConfig()));
    const k = harnessed.keys;
    await harnessed.redis.sadd(k.suppressed, '447900000004');
    const ask = (requestId: string, to: string, template = false) => ({
      messageKey: k.message(requestId),
      campaignKey: k.campaign('gate'),
      pairKey: k.pair('default', to),
      sessionKey: k.session(to),
      check: 'settled' as const,
      to,
      template,
      requestId,
      campaign: 'gate',
    });
    // One request a second, no burst: the first is granted and the last must wait; the messaging limit of 0
    // holds every template message.
    const reply = await grantSends(harnessed.redis, {
      keys: {
        accountPace: k.limiterNext,
        hold: k.limiterGate,
        breaker: k.breaker,
        probe: k.breakerProbe,
        laneMeta: k.bull('send', 'meta'),
        lanePace: k.lanePace('default'),
        laneState: k.lane('default'),
        tier: k.tier,
        tierHeld: k.tierHeld,
        control: k.control,
        suppressed: k.suppressed,
      },
      spacingMs: 1000,
      burstMs: 0,
      probeToken: 't',
      outageThreshold: 5,
      probeTtlMs: 1000,
      leadMs: 0,
      laneSpacingMs: 1000,
      pairIntervalMs: 60_000,
      messagingLimit: 0,
      messagingWindowMs: 60_000,
      sessionCheck: false,
      requests: [
        ask('a1', '447900000001'),
        ask('a2', '447900000001'),
        ask('d', '447900000004'),
        ask('c', '447900000003', true),
        ask('b', '447900000002'),
      ],
    });
    const [first, again, suppressed, held, waiting] = reply.verdicts;
    expect([first, suppressed, waiting]).toEqual(['g', 'suppressed', 'w']);
    expect(again).toMatch(/^pair:\d+$/);
    expect(Number(again?.slice('pair:'.length))).toBeGreaterThan(59_000);
    expect(held).toMatch(/^limit:\d+$/);
    // The granted request's pair key, dated as its in-flight mark; none for the held and the waiting ones.
    const [inflight, attempts] = await harnessed.redis.hmget(k.message('a1'), 'inflight', 'attempts');
    expect([await harnessed.redis.get(k.pair('default', '447900000001')), attempts]).toEqual([inflight, '1']);
    expect(await harnessed.redis.pttl(k.pair('default', '447900000001'))).toBeGreaterThan(59_000);
    for (const to of ['447900000002', '447900000003', '447900000004'])
      expect(await harnessed.redis.exists(k.pair('default', to))).toBe(0);
    for (const id of ['a2', 'd', 'c', 'b']) expect(await harnessed.redis.exists(k.message(id))).toBe(0);
  });

  it('gives a grant that reaches the process too late again for its new time when the pace has room', async () => {
    const harnessed = (h = harness(testConfig()));
    // With a pair interval: the grant given again dates the pair key anew.
    const gate = gateFor(harnessed, 100, 1000, undefined, 60_000);
    const key = harnessed.ledger.keys.message('late');
    const granted = gate.acquire(req('late'), 'settled');
    // The ask leaves on the next turn of the event loop; keep the loop busy while its answer waits.
    await new Promise<void>((resolve) => setImmediate(resolve));
    busyFor(gate.tripMs + 40);
    const ticket: Ticket = await granted;
    expect(ticket.waitedMs).toBeGreaterThan(gate.tripMs);
    expect([gate.lateGrants, gate.regrantedGrants]).toEqual([0, 1]);
    // One attempt, in flight from the new time, as is its pair key.
    const [inflight, attempts] = await harnessed.redis.hmget(key, 'inflight', 'attempts');
    expect(attempts).toBe('1');
    const pair = await harnessed.redis.get(harnessed.ledger.keys.pair('default', '447911123456'));
    expect(pair).toBe(inflight);
    expect(Number(await harnessed.redis.pttl(harnessed.ledger.keys.pair('default', '447911123456')))).toBeGreaterThan(
      50_000,
    );
  });

  it('gives back a grant that reaches the process too late when the pace has no room, and takes a new one', async () => {
    const harnessed = (h = harness(testConfig()));
    // One request a second: the grant's successor is a second away, so the late grant cannot be dated anew.
    const gate = gateFor(harnessed, 1, 1000, undefined, 60_000);
    const key = harnessed.ledger.keys.message('late');
    const granted = gate.acquire(req('late'), 'settled');
    await new Promise<void>((resolve) => setImmediate(resolve));
    busyFor(gate.tripMs + 40);
    const ticket: Ticket = await granted;
    // Handed back (no attempt spent, no pair key left to hold it back), then granted again a second later.
    expect(ticket.waitedMs).toBeGreaterThan(900);
    expect([gate.lateGrants, gate.regrantedGrants]).toEqual([1, 0]);
    const [inflight, attempts] = await harnessed.redis.hmget(key, 'inflight', 'attempts');
    expect(inflight).not.toBeNull();
    expect(attempts).toBe('1');
  }, 10_000);

  it('hands a grant back once: a hand-back asked again (its first reply lost) leaves the attempts as they are', async () => {
    const harnessed = (h = harness(testConfig()));
    const key = harnessed.ledger.keys.message('twice');
    const pairKey = harnessed.ledger.keys.pair('default', '447911100009');
    await harnessed.redis.hset(key, 'status', 'pending', 'attempts', '2', 'inflight', String(Date.now()));
    await harnessed.redis.set(pairKey, '1');
    const grants = [{ messageKey: key, pairKey }];
    expect(await ungrantSends(harnessed.redis, { grants })).toBe(1);
    expect(await ungrantSends(harnessed.redis, { grants })).toBe(1);
    expect(await harnessed.redis.hmget(key, 'inflight', 'attempts')).toEqual([null, '1']);
    expect(await harnessed.redis.exists(pairKey)).toBe(0);
  });

  it('hands late grants back instead of giving them again when their campaign was paused or their recipient opted out meanwhile', async () => {
    const harnessed = (h = harness(testConfig()));
    const k = harnessed.keys;
    const late = async (id: string, campaign: string, to: string) => {
      await harnessed.redis.hset(k.message(id), 'status', 'pending', 'inflight', '1', 'attempts', '1');
      await harnessed.redis.set(k.pair('default', to), '1', 'PX', 60_000);
      return regrantSends(harnessed.redis, {
        keys: {
          accountPace: k.limiterNext,
          hold: k.limiterGate,
          breaker: k.breaker,
          laneMeta: k.bull('send', 'meta'),
          lanePace: k.lanePace('default'),
          laneState: k.lane('default'),
          suppressed: k.suppressed,
        },
        spacingMs: 1,
        burstMs: 15,
        leadMs: 0,
        laneSpacingMs: 1,
        pairIntervalMs: 60_000,
        outageThreshold: 5,
        grants: [
          {
            messageKey: k.message(id),
            pairKey: k.pair('default', to),
            campaignKey: k.campaign(campaign),
            check: 'settled',
            to,
          },
        ],
      });
    };
    await harnessed.redis.hset(k.campaign('held'), 'state', 'paused');
    await harnessed.redis.sadd(k.suppressed, '447900000002');
    expect((await late('a', 'held', '447900000001')).given).toBe(false);
    expect((await late('b', 'open', '447900000002')).given).toBe(false);
    expect((await late('c', 'open', '447900000003')).given).toBe(true);
    // Handed back: not in flight, the attempt not spent, no pair key left; given again: in flight from now.
    for (const [id, to] of [
      ['a', '447900000001'],
      ['b', '447900000002'],
    ]) {
      expect(await harnessed.redis.hmget(k.message(id as string), 'inflight', 'attempts')).toEqual([null, '0']);
      expect(await harnessed.redis.exists(k.pair('default', to as string))).toBe(0);
    }
    const [inflight, attempts] = await harnessed.redis.hmget(k.message('c'), 'inflight', 'attempts');
    expect([Number(inflight) > 1, attempts]).toEqual([true, '1']);
    expect(await harnessed.redis.get(k.pair('default', '447900000003'))).toBe(inflight);
  });

  it('keeps sending when every answer lags more than the trip allowance, within the limit as requests leave', async () => {
    const harnessed = (h = harness(testConfig()));
    const { host, port } = harnessed.redis.options as { host: string; port: number };
    const proxy = await laggingProxy({ host, port }, 30);
    try {
      const gate = gateFor(harnessed, 20, 1000, proxy.port);
      expect(gate.tripMs).toBeLessThan(30);
      const left: number[] = [];
      const ids = Array.from({ length: 30 }, (_, i) => `lag${i}`);
      await Promise.all(ids.map((id) => gate.acquire(req(id)).then(() => left.push(performance.now()))));
      expect(left).toHaveLength(30);
      // The first answers, before the lag is known, are handed back; then grants are dated for when answers
      // arrive (without that, every grant would be handed back and nothing would ever be sent).
      expect(gate.lateGrants).toBeGreaterThan(0);
      expect(maxInSlidingWindow(left, 1000)).toBeLessThanOrEqual(20);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('turns every waiting request away when sending is paused or the worker closes', async () => {
    const harnessed = (h = harness(testConfig()));
    const gate = gateFor(harnessed, 2);
    const key = (id: string) => harnessed.ledger.keys.message(id);
    // Take the first grants so that the next requests must wait.
    await Promise.all([gate.acquire(req('a')), gate.acquire(req('b'))]);
    const waiting = [gate.acquire(req('c')), gate.acquire(req('d'))];
    await harnessed.send.pause();
    const paused = await Promise.allSettled(waiting);
    expect(paused.map((o) => o.status === 'rejected' && o.reason instanceof PausedSignal && o.reason.why)).toEqual([
      'paused',
      'paused',
    ]);
    expect(await harnessed.redis.hget(key('c'), 'inflight')).toBeNull();

    await harnessed.send.resume();
    const closing = [gate.acquire(req('e')), gate.acquire(req('f')), gate.acquire(req('g'))];
    gate.close();
    const closed = await Promise.allSettled(closing);
    expect(closed.map((o) => o.status === 'rejected' && o.reason instanceof PausedSignal && o.reason.why)).toEqual([
      'closing',
      'closing',
      'closing',
    ]);
    await expect(gate.acquire(req('h'))).rejects.toBeInstanceOf(PausedSignal);
  }, 10_000);
});
