import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { DELIVERY_RANK, type DeliveryStatus } from '../../src/ledger/delivery.js';
import { DeliveryLedger } from '../../src/ledger/delivery-ledger.js';
import { type CallbackRow } from '../../src/engagelab/callbacks.js';
import { addPending, harness, testConfig, type Harness } from '../helpers/env.js';

/** The delivery state machine as production runs it: rows applied by the ledger's script in Redis. */

let h: Harness;
let delivery: DeliveryLedger;
beforeAll(() => {
  h = harness(testConfig());
  delivery = new DeliveryLedger(h.redis, h.ledger);
});
afterAll(async () => {
  await h.close();
});

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

let counter = 0;
/** A fresh sent message; applies the rows in order; returns its final delivery state. */
async function fold(statuses: string[], campaign = 'order'): Promise<DeliveryStatus | undefined> {
  const id = `m-${++counter}`;
  await addPending(h, campaign, [id]);
  await h.ledger.markSent(id, campaign, `mid-${id}`);
  for (const status of statuses) {
    const row: CallbackRow = { message_id: `mid-${id}`, itime: 1_700_000_000, status: { message_status: status } };
    await delivery.apply(row);
  }
  return (await h.ledger.get(id))?.delivery?.status;
}

describe('the delivery state machine', () => {
  const histories: Array<[string, string[], DeliveryStatus]> = [
    ['delivered and read', ['sent', 'delivered', 'read'], 'read'],
    ['delivered, read, repeated', ['sent', 'delivered', 'read', 'delivered', 'sent'], 'read'],
    ['failed at delivery', ['sent', 'delivered_failed'], 'failed'],
    ['invalid target', ['target_valid', 'target_invalid'], 'failed'],
    ['failed at sending', ['plan', 'sent_failed'], 'failed'],
    ['delivered despite a failure report', ['sent', 'sent_failed', 'delivered'], 'delivered'],
    ['delivered, with a timeout notice', ['sent', 'delivered_timeout', 'delivered'], 'delivered'],
  ];
  it.each(histories)('%s ends the same in every order of its rows', async (_name, statuses, final) => {
    for (const order of permutations(statuses)) expect(await fold(order)).toBe(final);
  });

  it('never moves back, and counts each message once in its campaign funnel', async () => {
    const all = Object.keys(DELIVERY_RANK) as DeliveryStatus[];
    const raw: Record<DeliveryStatus, string> = {
      sent: 'sent',
      failed: 'sent_failed',
      delivered: 'delivered',
      read: 'read',
    };
    const finals: DeliveryStatus[] = [];
    for (const current of all) {
      for (const next of all) {
        const final = DELIVERY_RANK[next] > DELIVERY_RANK[current] ? next : current;
        expect(await fold([raw[current], raw[next]], 'pairs')).toBe(final);
        finals.push(final);
      }
    }
    const expected = Object.fromEntries(
      all.map((state) => [`delivery:${state}`, String(finals.filter((f) => f === state).length)]),
    );
    const counters = await h.redis.hgetall(h.keys.campaign('pairs'));
    expect(Object.fromEntries(Object.entries(counters).filter(([field]) => field.startsWith('delivery:')))).toEqual(
      expected,
    );
  });
});
