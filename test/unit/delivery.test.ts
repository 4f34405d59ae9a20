import { describe, expect, it } from '@jest/globals';
import { callbackBatchSchema, callbackRowSchema, type CallbackRow } from '../../src/engagelab/callbacks.js';
import { deliveryOf, funnel } from '../../src/ledger/delivery.js';
import { notificationEffect, notificationEventName, tierLimit } from '../../workers/notifications.js';

const row = (message_status: string, extra: Record<string, unknown> = {}): CallbackRow => ({
  message_id: 'm1',
  itime: 1_700_000_000,
  status: { message_status, ...extra },
});

describe('the delivery rows', () => {
  it('keeps the error code, message, loss step and source of a failure', () => {
    const update = deliveryOf(
      row('delivered_failed', {
        error_code: 131026,
        error_detail: { message: 'Message undeliverable' },
        loss: { loss_step: 3, loss_source: 'meta' },
      }),
    );
    expect(update).toEqual({
      status: 'failed',
      at: 1_700_000_000_000,
      errorCode: 131026,
      error: 'Message undeliverable',
      lossStep: 3,
      lossSource: 'meta',
    });
    expect(deliveryOf(row('plan'))).toBeUndefined();
  });

  it("reads a billable message's pricing: its category and the row's country", () => {
    const priced = (pricing: unknown, country_code?: unknown) =>
      deliveryOf(
        callbackRowSchema.parse({
          message_id: 'm1',
          to: '447911123456',
          itime: 1_700_000_000,
          status: { message_status: 'delivered', status_data: { pricing, country_code } },
        }),
      )?.billable;
    expect(priced({ billable: true, pricing_model: 'PMP', category: 'MARKETING' }, 'in')).toEqual({
      category: 'marketing',
      country: 'IN',
    });
    // No country code (or not a country): the recipient's number's.
    expect(priced({ billable: true, category: 'utility' })).toEqual({ category: 'utility', country: 'GB' });
    expect(priced({ category: 'utility' }, '44')).toEqual({ category: 'utility', country: 'GB' });
    // Free messages are not billable; no pricing, none.
    expect(priced({ billable: false, category: 'service' })).toBeUndefined();
    expect(priced({ billable: true, type: 'free_entry_point', category: 'marketing' })).toBeUndefined();
    expect(priced(undefined)).toBeUndefined();
    expect(priced({ category: 'not a category!' })).toBeUndefined();
  });

  it('keeps a row whose pricing is not of the documented shape, without its pricing', () => {
    const parsed = callbackRowSchema.parse({
      message_id: 'm1',
      status: { message_status: 'delivered', status_data: { pricing: 'free', country_code: 7 } },
    });
    expect(parsed.status?.status_data).toEqual({});
    expect(deliveryOf(parsed)?.status).toBe('delivered');
    expect(deliveryOf(parsed)?.billable).toBeUndefined();
  });

  it('counts the funnel once per message, at its furthest state', () => {
    expect(
      funnel({ 'delivery:sent': '2', 'delivery:delivered': '5', 'delivery:read': '3', 'delivery:failed': '1' }, 11),
    ).toEqual({ sent: 11, delivered: 8, read: 3, failed: 1 });
  });
});

describe('callback bodies', () => {
  it('accept the documented envelope, whatever its rows', () => {
    expect(callbackBatchSchema.safeParse({ total: 1, rows: [row('read')] }).success).toBe(true);
    expect(callbackBatchSchema.safeParse({ rows: [1, null, 'x'] }).success).toBe(true);
  });
  it.each([
    [{ rows: [] }, /rows/],
    [{ rows: 'nope' }, /rows/],
    [{ total: 1 }, /rows/],
  ])('reject %j', (body, message) => {
    const parsed = callbackBatchSchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(message);
  });
});

describe('notifications', () => {
  const notification = (event: string, notification_data: Record<string, unknown>): CallbackRow => ({
    notification: { event, notification_data },
  });
  const inUse = (name: string) => name === 'order_update';

  it('pause on an insufficient balance, a disabled account, or a template in use becoming unusable', async () => {
    expect(
      (
        await notificationEffect(
          notification('insufficient_balance', { remain_balance: 3, balance_threshold: 10 }),
          inUse,
        )
      ).pause,
    ).toBe('from a callback: insufficient_balance: EngageLab balance 3 is below 10');
    expect(
      (await notificationEffect(notification('whatsapp_business_update', { waba_event: 'ACCOUNT_VIOLATION' }), inUse))
        .pause,
    ).toMatch(/ACCOUNT_VIOLATION/);
    for (const status of ['PAUSED', 'DISABLED', 'REJECTED']) {
      expect(
        (
          await notificationEffect(
            notification('template_update', { template_name: 'order_update', template_status: status }),
            inUse,
          )
        ).pause,
      ).toBe(`from a callback: template_update: order_update is ${status}`);
    }
  });

  it('do not pause for a template not in use, an approval, or a tier change, which is recorded', async () => {
    expect(
      await notificationEffect(
        notification('template_update', { template_name: 'other', template_status: 'DISABLED' }),
        inUse,
      ),
    ).toEqual({});
    expect(
      await notificationEffect(
        notification('template_update', { template_name: 'order_update', template_status: 'APPROVED' }),
        inUse,
      ),
    ).toEqual({});
    const tier = await notificationEffect(notification('phone_number_update', { current_limit: 'TIER_10K' }), inUse);
    expect(tier.pause).toBeUndefined();
    expect(tier.record?.phone_limit).toBe('TIER_10K');
  });

  it('say where a pause came from, and keep what a forger writes into it short and printable', async () => {
    const forged = await notificationEffect(
      notification('insufficient_balance', { remain_balance: `0\u001b[2J${'x'.repeat(500)}`, balance_threshold: 10 }),
      inUse,
    );
    expect(forged.pause).toMatch(/^from a callback: insufficient_balance: EngageLab balance 0\?\[2Jx+ is below 10$/);
    expect((forged.pause as string).length).toBeLessThan(140);
  });

  it("are counted by EngageLab's event names, any other name as unknown (no metric series per made-up name)", () => {
    expect(
      ['insufficient_balance', 'phone_number_update', 'made_up_1', 'x'.repeat(200)].map(notificationEventName),
    ).toEqual(['insufficient_balance', 'phone_number_update', 'unknown', 'unknown']);
  });

  it("record no tier outside Meta's list, so a forged TIER_0 cannot hold every template message; they say it was unknown", async () => {
    for (const current_limit of ['TIER_0', 'TIER_00', 'TIER_1', 'tier_250', 'TIER_UNLIMITED ']) {
      expect([
        current_limit,
        await notificationEffect(notification('phone_number_update', { current_limit }), inUse),
      ]).toEqual([current_limit, { unknownTier: true }]);
    }
  });
});

describe('the messaging tier of phone_number_update', () => {
  it("maps EngageLab's tiers to distinct recipients a day (-1: unlimited), and records it for MESSAGING_LIMIT=auto", async () => {
    expect(
      ['TIER_50', 'TIER_250', 'TIER_1K', 'TIER_2K', 'TIER_10K', 'TIER_100K', 'TIER_UNLIMITED', 'TIER_X'].map(tierLimit),
    ).toEqual([50, 250, 1000, 2000, 10_000, 100_000, -1, undefined]);
    const row = {
      notification: { event: 'phone_number_update', notification_data: { current_limit: 'TIER_10K' } },
    } as CallbackRow;
    expect((await notificationEffect(row, () => false)).record).toMatchObject({
      phone_limit: 'TIER_10K',
      messaging_limit: '10000',
    });
  });
});
