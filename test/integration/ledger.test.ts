import { afterEach, describe, expect, it } from '@jest/globals';
import { addPending, harness, testConfig, type Harness } from '../helpers/env.js';

/** Settling messages in the ledger: results of one turn of the event loop go in one script call. */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('ledger: settling messages', () => {
  it('settles many sends made in one turn, each with its own answer', async () => {
    const harnessed = (h = harness(testConfig()));
    const ids = Array.from({ length: 40 }, (_, i) => `s${i}`);
    await addPending(harnessed, 'led', ids);
    await harnessed.ledger.markSent('s0', 'led', 'mid-s0');
    // Delivery rows for s1's message_id arrived before it was sent.
    await harnessed.redis.rpush(harnessed.keys.orphan('mid-s1'), '{}');

    // All in one turn: 39 new, one repeat of s0, one with waiting delivery rows.
    const answers = await Promise.all(ids.map((id) => harnessed.ledger.markSent(id, 'led', `mid-${id}`)));
    expect(answers[0]).toBe('unchanged');
    expect(answers[1]).toBe('orphans');
    expect(answers.slice(2)).toEqual(ids.slice(2).map(() => 'changed'));

    expect(await harnessed.ledger.campaign('led')).toMatchObject({ total: 40, sent: 40, dead: 0, pending: 0 });
    const record = await harnessed.ledger.get('s7');
    expect(record).toMatchObject({ status: 'sent', message_id: 'mid-s7' });
    expect(await harnessed.ledger.requestIdOf('mid-s7')).toBe('s7');
  });

  it('moves a dead message to sent with its error cleared and the counts mended, and never a sent one back', async () => {
    const harnessed = (h = harness(testConfig()));
    await addPending(harnessed, 'led', ['d1', 'd2']);
    expect(
      await harnessed.ledger.markDead('d1', 'led', {
        code: 3001,
        http_status: 400,
        reason: 'permanent',
        message: 'bad template',
      }),
    ).toBe(true);
    expect(await harnessed.ledger.campaign('led')).toMatchObject({ sent: 0, dead: 1, pending: 1 });

    // A job of the dead message that ran again anyway (not through replay) and was accepted.
    expect(await harnessed.ledger.markSent('d1', 'led', 'mid-d1')).toBe('changed');
    const record = await harnessed.redis.hgetall(harnessed.ledger.keys.message('d1'));
    expect(record).toMatchObject({ status: 'sent', message_id: 'mid-d1' });
    expect(record).not.toHaveProperty('code');
    expect(record).not.toHaveProperty('reason');
    expect(record).not.toHaveProperty('error');
    expect(await harnessed.ledger.campaign('led')).toMatchObject({ sent: 1, dead: 0, pending: 1 });

    expect(
      await harnessed.ledger.markDead('d1', 'led', {
        code: null,
        http_status: null,
        reason: 'unknown_outcome',
        message: 'late',
      }),
    ).toBe(false);
    expect((await harnessed.ledger.get('d1'))?.status).toBe('sent');
  });
});
