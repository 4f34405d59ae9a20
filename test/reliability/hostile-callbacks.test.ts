import { beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DELIVERY_RANK, type DeliveryStatus } from '../../src/ledger/delivery.js';
import { CALLBACK_QUEUE, openQueue } from '../../src/queue.js';
import { BODIES, phone } from '../fixtures/messages.js';
import { useFileStack } from '../helpers/stack.js';
import { addPending, until } from '../helpers/env.js';

/**
 * Generated callback batches that mix good status rows with hostile ones (wrong types, huge strings, itime 1e20,
 * unknown shapes, unknown events and tiers, deep nesting): no answer is a 5xx, every good row is applied (each
 * message ends at the furthest state its good rows name), every row of an unknown shape is kept aside and
 * counted, and the dashboard still works afterwards. The runs are bounded (count and time).
 */

const PASSWORD = 'hostile-callbacks-password';
const TOKEN = 'tok_hostile_callbacks_0123';
const AUTH = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const MESSAGES = 30;
const stack = useFileStack();
beforeAll(async () => {
  const { config, h } = await stack.start({
    config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD, CALLBACK_TOKEN: TOKEN },
  });
  const ids = Array.from({ length: MESSAGES }, (_, i) => `hc-${i}`);
  await addPending(h, 'hostile', ids);
  await Promise.all(ids.map((id) => h.ledger.markSent(id, 'hostile', `mid-hc-${id}`)));
  await stack.startDashboard(config);
});

/** good: must be taken and applied; unknown: must be kept aside; odd: taken or kept aside, either is right. */
type Kind = 'good' | 'unknown' | 'odd';
interface Generated {
  kind: Kind;
  row: unknown;
  /** A good row's message and state. */
  message?: number;
  state?: DeliveryStatus;
}

const nestedArrays = (depth: number): unknown => {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
};
const nestedObjects = (depth: number): unknown => {
  let value: unknown = 'x';
  for (let i = 0; i < depth; i++) value = { a: [value] };
  return value;
};

const itime = fc.oneof(
  fc.constant(Math.floor(Date.now() / 1000)),
  fc.constantFrom(1e20, -1e15, 99_999_999_999_999, 0, Date.now(), Number.MAX_VALUE),
);
const good: fc.Arbitrary<Generated> = fc
  .record({
    message: fc.integer({ min: 0, max: MESSAGES - 1 }),
    state: fc.constantFrom<DeliveryStatus>('sent', 'delivered', 'read'),
    itime,
    extra: fc.boolean(),
  })
  .map(({ message, state, itime, extra }) => ({
    kind: 'good',
    message,
    state,
    row: {
      message_id: `mid-hc-hc-${message}`,
      itime,
      status: { message_status: state, ...(extra && { error_code: 0, status_data: { country_code: 'GB' } }) },
      ...(extra && { from: '8613800138000', server: 'whatsapp', custom_args: { wa_bulk_request_id: `hc-${message}` } }),
    },
  }));
const unknownShape: fc.Arbitrary<Generated> = fc
  .oneof(
    fc.constantFrom<unknown>(null, 1, 'row', true, [], [1, 2]),
    fc.record({ message_id: fc.integer(), status: fc.constant({ message_status: 'read' }) }),
    fc.record({ message_id: fc.constant('mid-hc-hc-1'), status: fc.string({ maxLength: 20 }) }),
    fc.record({ message_id: fc.constant('mid-hc-hc-1'), status: fc.record({ message_status: fc.integer() }) }),
    fc.record({
      message_id: fc.string({ minLength: 129, maxLength: 400 }),
      status: fc.constant({ message_status: 'read' }),
    }),
    fc.record({ status: fc.constant({ message_status: 'read' }) }),
    fc.constant({ message_id: 'mid-hc-hc-2', status: { message_status: 'read' }, notification: { event: 'x' } }),
    fc.integer({ min: 1, max: 400 }).map((depth) => nestedObjects(depth)),
    fc.integer({ min: 20_000, max: 60_000 }).map((size) => ({
      message_id: 'mid-hc-hc-3',
      status: { message_status: 'read', error_detail: { message: 'e'.repeat(size) } },
    })),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  )
  .map((row) => ({ kind: 'unknown', row }));
const odd: fc.Arbitrary<Generated> = fc
  .oneof(
    fc.string({ maxLength: 30 }).map((event) => ({ notification: { event: `zz-${event}` } })),
    fc.constantFrom('TIER_0', 'TIER_-1', 'tier_1k', '').map((current_limit) => ({
      notification: { event: 'phone_number_update', notification_data: { current_limit } },
    })),
    fc
      .string({ maxLength: 30 })
      .map((event) => ({ message_id: 'in-1', from: phone(3), itime: 1e20, response: { event } })),
    fc.string({ maxLength: 30 }).map((message_status) => ({ message_id: 'mid-nobody', status: { message_status } })),
    fc.integer({ min: 10, max: 3000 }).map((depth) => ({
      message_id: `mid-stranger-${depth}`,
      itime: 1e20,
      custom_args: { deep: nestedArrays(depth) },
      status: { message_status: 'read' },
    })),
  )
  .map((row) => ({ kind: 'odd', row }));

const batch = fc.array(fc.oneof({ arbitrary: good, weight: 3 }, unknownShape, odd), { minLength: 1, maxLength: 40 });

describe('hostile callback batches, generated', () => {
  it('never get a 5xx; good rows are applied, rows of an unknown shape kept aside and counted; the dashboard works after', async () => {
    const { h, dashboard } = stack;
    const furthest = new Map<number, DeliveryStatus>();
    let unknownAnswered = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(batch, async (rows) => {
        runs++;
        const res = await fetch(`${dashboard.url}/callbacks/engagelab/${TOKEN}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ total: rows.length, rows: rows.map((r) => r.row) }),
        });
        expect(res.status).toBe(200);
        const answer = (await res.json()) as { rows: number; taken: number; unknown: number };
        const count = (kind: Kind) => rows.filter((r) => r.kind === kind).length;
        expect(answer.rows).toBe(rows.length);
        expect(answer.taken + answer.unknown).toBe(rows.length);
        expect(answer.unknown).toBeGreaterThanOrEqual(count('unknown'));
        expect(answer.unknown).toBeLessThanOrEqual(count('unknown') + count('odd'));
        unknownAnswered += answer.unknown;
        for (const r of rows) {
          if (r.kind !== 'good' || r.message === undefined || !r.state) continue;
          const before = furthest.get(r.message);
          if (!before || DELIVERY_RANK[r.state] > DELIVERY_RANK[before]) furthest.set(r.message, r.state);
        }
      }),
      { numRuns: 80, interruptAfterTimeLimit: 60_000, seed: 20261208 },
    );
    expect(runs).toBeGreaterThan(20);
    expect(furthest.size).toBeGreaterThan(0);

    const queue = openQueue(h.redis, h.keys.prefix, CALLBACK_QUEUE);
    try {
      await until(async () =>
        Object.values(await queue.getJobCounts('wait', 'active', 'delayed')).every((n) => n === 0),
      );
      expect(await queue.getJobCounts('failed')).toEqual({ failed: 0 });
    } finally {
      await queue.close();
    }
    for (const [message, state] of furthest) {
      const record = await h.ledger.get(`hc-${message}`);
      expect([message, record?.delivery?.status]).toEqual([message, state]);
      // A time from a row is either the row's (plausible) or the time of receipt: always a valid one.
      expect(Number.isNaN(Date.parse(record?.delivery?.at ?? ''))).toBe(false);
    }
    const stats = await h.redis.hgetall(h.keys.metrics);
    expect(Number(stats['callback_unknown:row'])).toBe(unknownAnswered);
    expect(await h.redis.llen(h.keys.callbacksUnknown)).toBe(Math.min(unknownAnswered, 1000));
    expect(Number(stats['callback_unknown:event'] ?? 0)).toBeGreaterThan(0);
    // No tier outside Meta's list was taken as the messaging limit, and no metric series was made from a name.
    expect(await h.redis.hget(h.keys.control, 'phone_limit')).toBeNull();
    const get = (path: string) => fetch(`${dashboard.url}${path}`, { headers: AUTH });
    const metrics = await (await get('/metrics')).text();
    expect(metrics).not.toMatch(/zz-/);
    expect(metrics).toMatch(/^wa_bulk_callback_unknown_total\{part="row"\} \d+$/m);

    expect((await fetch(`${dashboard.url}/healthz`)).status).toBe(200);
    for (const path of [
      '/api/campaigns',
      '/api/campaigns/hostile',
      '/api/messages/hc-0',
      '/api/callbacks/unknown',
      '/campaigns',
    ])
      expect([path, (await get(path)).status]).toEqual([path, 200]);
    const ok = await fetch(`${dashboard.url}/api/campaigns/after/messages?preflight=false`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify([{ to: phone(1), body: BODIES.text }]),
    });
    expect(await ok.json()).toMatchObject({ accepted: 1 });
  });
});
