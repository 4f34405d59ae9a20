import { afterEach, describe, expect, it } from '@jest/globals';
import { DeliveryLedger } from '../../src/ledger/delivery-ledger.js';
import * as scripts from '../../src/scripts/index.js';
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
    // A delivery row for s1's message_id arrived before it was sent (kept as an orphan, and indexed).
    const early = { message_id: 'mid-s1', itime: 1_700_000_000, status: { message_status: 'delivered' } };
    expect((await new DeliveryLedger(harnessed.redis, harnessed.ledger).apply(early)).result).toBe('orphaned');

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

  it('counts a call of several campaigns, minutes and outcomes each where it belongs', async () => {
    const harnessed = (h = harness(testConfig()));
    const k = harnessed.keys;
    await addPending(harnessed, 'one', ['x1', 'x2', 'x3', 'x4']);
    await addPending(harnessed, 'two', ['y1', 'y2', 'y3']);
    const why = { code: 3001, http_status: 400, reason: 'permanent' as const, message: 'bad template' };
    expect(await harnessed.ledger.markDead('x4', 'one', why)).toBe(true);
    // A minutes hash whose enqueue note expired: the call's counts give it an expiry again.
    await harnessed.redis.del(k.campaignMinutes('two'));

    const minute = Math.floor(Date.now() / 60_000);
    const [at, next] = [minute * 60_000 + 5, (minute + 1) * 60_000 + 5];
    const settle = (requestId: string, campaign: string, now: number, status: 'sent' | 'dead' | 'skipped') => ({
      messageKey: k.message(requestId),
      campaignKey: k.campaign(campaign),
      messageIdKey: k.messageId(`mid-${requestId}`),
      orphanKey: k.orphan(`mid-${requestId}`),
      minutesKey: k.campaignMinutes(campaign),
      status,
      now,
      ttlSeconds: 3600,
      messageIdEntry: status === 'sent' ? `${campaign}:${requestId}` : '',
      messageId: status === 'sent' ? `mid-${requestId}` : '',
      code: status === 'dead' && campaign === 'one' ? 3001 : '',
      httpStatus: status === 'dead' ? 400 : '',
      reason: status === 'dead' ? 'permanent' : status === 'skipped' ? 'cancelled' : '',
      error: status === 'sent' ? '' : 'why',
    });
    const verdicts = await scripts.settleMessages(harnessed.redis, {
      keys: { archive: k.archive, orphans: k.orphans },
      idFrom: 0,
      messages: [
        settle('x1', 'one', at, 'sent'),
        settle('y1', 'two', at, 'sent'),
        settle('x2', 'one', next, 'sent'),
        settle('x3', 'one', at, 'dead'),
        settle('y2', 'two', at, 'dead'),
        settle('x4', 'one', next, 'sent'),
        settle('y3', 'two', next, 'skipped'),
        settle('x1', 'one', next, 'sent'),
      ],
    });
    expect(verdicts).toEqual([1, 1, 1, 1, 1, 1, 1, 0]);

    // x4 left the dead counts as it became sent; y2 died without a code.
    expect(await harnessed.ledger.campaign('one')).toMatchObject({ sent: 3, dead: 1, skipped: 0, pending: 0 });
    expect((await harnessed.ledger.campaign('one'))?.dead_by_code).toEqual({ '3001': 1 });
    const two = await harnessed.ledger.campaign('two');
    expect(two).toMatchObject({ sent: 1, dead: 1, skipped: 1, pending: 0, dead_by_code: { none: 1 } });
    expect(two?.skipped_by.cancelled).toBe(1);
    const sentIn = async (campaign: string) =>
      Object.fromEntries(
        Object.entries(await harnessed.redis.hgetall(k.campaignMinutes(campaign))).filter(([f]) => f.endsWith(':sent')),
      );
    expect(await sentIn('one')).toEqual({ [`${minute}:sent`]: '1', [`${minute + 1}:sent`]: '2' });
    expect(await sentIn('two')).toEqual({ [`${minute}:sent`]: '1' });
    expect(await harnessed.redis.ttl(k.campaignMinutes('two'))).toBeGreaterThan(29 * 86_400);
    expect(await harnessed.redis.ttl(k.campaignMinutes('one'))).toBeGreaterThan(0);
  });

  it('finds the waiting delivery rows of a message settled in the call after other messages settled', async () => {
    const harnessed = (h = harness(testConfig()));
    await addPending(harnessed, 'late', ['p1', 'p2', 'p3']);
    await harnessed.ledger.markSent('p1', 'late', 'mid-p1');
    const early = { message_id: 'mid-p3', itime: 1_700_000_000, status: { message_status: 'read' } };
    expect((await new DeliveryLedger(harnessed.redis, harnessed.ledger).apply(early)).result).toBe('orphaned');
    expect(await harnessed.ledger.markSent('p2', 'late', 'mid-p2')).toBe('changed');
    expect(await harnessed.ledger.markSent('p3', 'late', 'mid-p3')).toBe('orphans');
  });
});
