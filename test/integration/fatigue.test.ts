import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { SKIP_WORDS } from '../../src/ledger/reasons.js';
import { Fatigue } from '../../src/recipients/fatigue.js';
import { TemplateCategories } from '../../src/recipients/template-categories.js';
import { redisClient } from '../../src/redis/connection.js';
import { MarketingVerdict, reserveMarketing } from '../../src/scripts/index.js';
import type { SimulatorOptions } from '../../src/simulator/simulator.js';
import type { ConfigInput } from '../../src/config.js';
import { runCli } from '../helpers/cli.js';
import { campaignDone, envOf, testConfig, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** Marketing fatigue: FREQUENCY_CAP and the rest after Meta's 131049, across campaigns. */

const stack = useStack();

/** The simulator's templates: one of each category Meta has. */
const CATALOG = [
  { name: 'spring_sale', language: 'en', status: 'APPROVED', category: 'MARKETING' },
  { name: 'order_shipped', language: 'en', status: 'APPROVED', category: 'UTILITY' },
  { name: 'login_code', language: 'en', status: 'APPROVED', category: 'AUTHENTICATION' },
];
const template = (name: string) => ({ type: 'template', template: { name, language: 'en' } });
const MARKETING = template('spring_sale');
const UTILITY = template('order_shipped');

const send = (campaign: string, messages: unknown[]) =>
  enqueue(readJsonl(Readable.from([jsonl(messages)])), { campaign, ledger: stack.h.ledger, queue: stack.h.send });

/** The number a message to phone(i) is sent to (and keyed by). */
const digits = (i: number) => phone(i).slice(1);

describe('the check-and-reserve script', () => {
  it('grants exactly FREQUENCY_CAP of cap+1 reservations made at once from several connections', async () => {
    const { config, h } = await stack.start();
    const clients = Array.from({ length: 4 }, () => redisClient(config));
    stack.defer(() => clients.forEach((client) => client.disconnect()));
    const keys = { sent: h.keys.marketingSent('447911100001'), rest: h.keys.marketingRest('447911100001') };
    for (let i = 0; i < 4; i++) await h.redis.hset(h.keys.message(`m-${i}`), 'status', 'pending');
    const reserve = (client: Redis, requestId: string) =>
      reserveMarketing(client, {
        keys: { ...keys, message: h.keys.message(requestId) },
        requestId,
        now: Date.now(),
        max: 3,
        windowMs: 60_000,
      });
    const verdicts = await Promise.all(clients.map((client, i) => reserve(client, `m-${i}`)));
    expect(verdicts.filter((v) => v.verdict === MarketingVerdict.Granted)).toHaveLength(3);
    expect(verdicts.filter((v) => v.verdict === MarketingVerdict.Capped)).toHaveLength(1);
    expect(await h.redis.zcard(keys.sent)).toBe(3);
    // Bounded: the window's key goes with the window.
    const ttl = await h.redis.pttl(keys.sent);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);

    // A message that holds a place keeps it when it asks again; one refused is still refused.
    const holder = verdicts.findIndex((v) => v.verdict === MarketingVerdict.Granted);
    const refused = verdicts.findIndex((v) => v.verdict === MarketingVerdict.Capped);
    expect((await reserve(h.redis, `m-${holder}`)).verdict).toBe(MarketingVerdict.Granted);
    expect((await reserve(h.redis, `m-${refused}`)).verdict).toBe(MarketingVerdict.Capped);
    // A place given back (the message was not sent after all) goes to the next one.
    await h.redis.zrem(keys.sent, `m-${holder}`);
    expect((await reserve(h.redis, `m-${refused}`)).verdict).toBe(MarketingVerdict.Granted);

    // Fatigue judges only a pending message with no request on the wire: a settled one, or one in flight when
    // its worker died, is left to the send grant, and the places stay as they are.
    const before = await h.redis.zrange(keys.sent, '0', '-1');
    await h.redis.hset(h.keys.message('m-settled'), 'status', 'dead');
    await h.redis.hset(h.keys.message(`m-${refused}`), 'inflight', String(Date.now()));
    expect((await reserve(h.redis, 'm-settled')).verdict).toBe(MarketingVerdict.NotPending);
    expect((await reserve(h.redis, `m-${refused}`)).verdict).toBe(MarketingVerdict.NotPending);
    expect((await reserve(h.redis, 'm-unknown')).verdict).toBe(MarketingVerdict.NotPending);
    await h.redis.set(keys.rest, '1', 'PX', 60_000);
    expect((await reserve(h.redis, `m-${refused}`)).verdict).toBe(MarketingVerdict.NotPending);
    expect(await h.redis.zrange(keys.sent, '0', '-1')).toEqual(before);
  });

  it('frees the places that have left the rolling window', async () => {
    const { h } = await stack.start();
    const keys = { sent: h.keys.marketingSent('447911100002'), rest: h.keys.marketingRest('447911100002') };
    for (const id of ['old', 'new', 'newer']) await h.redis.hset(h.keys.message(id), 'status', 'pending');
    const at = (requestId: string, now: number) =>
      reserveMarketing(h.redis, {
        keys: { ...keys, message: h.keys.message(requestId) },
        requestId,
        now,
        max: 1,
        windowMs: 10_000,
      });
    const now = Date.now();
    expect((await at('old', now - 20_000)).verdict).toBe(MarketingVerdict.Granted);
    expect((await at('new', now)).verdict).toBe(MarketingVerdict.Granted);
    expect((await at('newer', now)).verdict).toBe(MarketingVerdict.Capped);
    expect(await h.redis.zrange(keys.sent, '0', '-1')).toEqual(['new']);
  });
});

describe("templates' categories", () => {
  it('asks once per template and language, takes an unlisted template as marketing, and does not keep a failed lookup', async () => {
    const asked: string[] = [];
    let fail = true;
    const categories = new TemplateCategories(async ({ name, language_code }) => {
      asked.push(`${name}:${language_code}`);
      if (name === 'flaky' && fail) throw new Error('EngageLab did not answer');
      // The API's name is a fuzzy match: a longer name comes back too.
      return [...CATALOG, { name: 'spring_sale_2', language: 'en', status: 'APPROVED', category: 'UTILITY' }];
    });
    expect(await Promise.all([categories.of('spring_sale', 'en'), categories.of('spring_sale', 'en')])).toEqual([
      'MARKETING',
      'MARKETING',
    ]);
    expect(await categories.of('order_shipped', 'en')).toBe('UTILITY');
    expect(await categories.of('spring_sale', 'en')).toBe('MARKETING');
    expect(await categories.of('nowhere', 'en')).toBe('MARKETING');
    await expect(categories.of('flaky', 'en')).rejects.toThrow('EngageLab did not answer');
    fail = false;
    expect(await categories.of('flaky', 'en')).toBe('MARKETING');
    expect(asked).toEqual(['spring_sale:en', 'order_shipped:en', 'nowhere:en', 'flaky:en', 'flaky:en']);
  });
});

describe('marketing fatigue in one process', () => {
  it('asks nothing without a cap while no recipient rests; a rest makes marketing wait, not utility', async () => {
    const { config, h } = await stack.start({ config: { MARKETING_REST: '1h' } });
    await stack.startSimulator({ templateCatalog: CATALOG });
    let lookups = 0;
    const categories = () =>
      new TemplateCategories(async ({ name, language_code }) => {
        lookups++;
        return CATALOG.filter((t) => t.name === name && t.language === language_code);
      });
    const sale = { name: 'spring_sale', language: 'en' };
    const shipped = { name: 'order_shipped', language: 'en' };

    for (const id of ['r-1', 'r-2', 'r-3']) await h.redis.hset(h.keys.message(id), 'status', 'pending');
    const before = new Fatigue(h.redis, h.keys, config, categories());
    expect(await before.check('r-1', '447911100003', sale)).toEqual({ kind: 'free' });
    expect(lookups).toBe(0);

    expect(await before.rest('447911100003')).toBe(true);
    const after = new Fatigue(h.redis, h.keys, config, categories());
    const resting = await after.check('r-1', '447911100003', sale);
    expect(resting.kind).toBe('resting');
    expect(resting.kind === 'resting' && resting.ms > 3_500_000 && resting.ms <= 3_600_000).toBe(true);
    expect(await after.check('r-2', '447911100003', shipped)).toEqual({ kind: 'free' });
    // Another recipient does not rest.
    expect(await after.check('r-3', '447911100004', sale)).toEqual({ kind: 'free' });

    // MARKETING_REST=0: a 131049 rests nobody.
    const off = new Fatigue(h.redis, h.keys, testConfig({ MARKETING_REST: '0' }), categories());
    expect(off.on).toBe(false);
    expect(await off.rest('447911100005')).toBe(false);
  });
});

describe('marketing fatigue across campaigns', () => {
  async function setup(overrides: ConfigInput, simulator: Partial<SimulatorOptions>) {
    return stack.start({
      simulator: (dashboardUrl) => ({
        templateCatalog: CATALOG,
        callbackUrl: `${dashboardUrl}/callbacks/engagelab`,
        callbackDelayMs: 20,
        ...simulator,
      }),
      config: overrides,
      dashboard: true,
      worker: true,
    });
  }

  it('with FREQUENCY_CAP=1/7d skips a second marketing template to one recipient, in another campaign; utility and text go', async () => {
    const { config, h, sim, dashboard } = await setup({ FREQUENCY_CAP: '1/7d' }, { deliveryFailRate: 0 });
    await send('a', [{ to: phone(1), body: MARKETING, request_id: 'a-sale' }]);
    await campaignDone(h.ledger, 'a');
    expect(await h.ledger.get('a-sale')).toMatchObject({ status: 'sent' });

    await send('b', [
      { to: phone(1), body: MARKETING, request_id: 'b-sale' },
      { to: phone(1), body: UTILITY, request_id: 'b-shipped' },
      { to: phone(1), body: BODIES.text, request_id: 'b-text' },
      { to: phone(2), body: MARKETING, request_id: 'b-sale-other' },
    ]);
    await campaignDone(h.ledger, 'b');
    expect(await h.ledger.get('b-sale')).toMatchObject({
      status: 'skipped',
      attempts: 0,
      error: { reason: 'frequency_cap', code: null, message: SKIP_WORDS.frequency_cap },
    });
    expect(sim.acceptedByRequestId.has('b-sale')).toBe(false);
    for (const id of ['b-shipped', 'b-text', 'b-sale-other'])
      expect([id, (await h.ledger.get(id))?.status]).toEqual([id, 'sent']);
    expect(await h.ledger.campaign('b')).toMatchObject({ sent: 3, skipped: 1, skipped_by: { frequency_cap: 1 } });
    // The template's category was asked once per template, not per message.
    expect(sim.templateLookups).toBe(2);

    const status = await runCli(['status', '--campaign', 'b'], envOf(config));
    expect(status.stdout).toContain('skipped: frequency_cap 1');
    await until(async () => (await h.redis.hget(h.keys.metrics, 'skipped:frequency_cap')) === '1');
    const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
    expect(metrics).toContain('wa_bulk_messages_skipped_total{reason="frequency_cap"} 1\n');
  });

  it("a 131049 rests its recipient: another campaign's marketing template waits without an attempt, then goes; the quality guard does not count it", async () => {
    const rested = [digits(11), digits(12), digits(13)];
    // A cap far from reached: the rest is checked on every marketing send at once (without one, a worker may
    // take up to a second to notice that a recipient rests).
    const { h, sim, dashboard } = await setup(
      { MARKETING_REST: '3s', FREQUENCY_CAP: '10/7d', QUALITY_WINDOW: 3, QUALITY_MAX_FAILED: 0.5 },
      { deliveryFailRate: 0, shuffleRate: 0, deliveryErrorsTo: Object.fromEntries(rested.map((to) => [to, 131049])) },
    );
    await send(
      'a',
      [11, 12, 13].map((i) => ({ to: phone(i), body: MARKETING, request_id: `a-${i}` })),
    );
    await campaignDone(h.ledger, 'a');
    await until(async () => (await h.redis.hget(h.keys.metrics, 'quality_recipient_rested')) === '3');
    for (const to of rested) expect(await h.redis.exists(h.keys.marketingRest(to))).toBe(1);
    // Three failed outcomes of three would pass QUALITY_MAX_FAILED: 131049s are not counted.
    expect(await h.ledger.campaign('a')).toMatchObject({
      delivery: { failed: 3 },
      delivery_failed_by_code: { '131049': 3 },
    });
    expect(await h.redis.hget(h.keys.campaign('a'), 'state')).toBeNull();

    await send('b', [
      { to: phone(11), body: MARKETING, request_id: 'b-sale' },
      { to: phone(11), body: UTILITY, request_id: 'b-shipped' },
    ]);
    // A campaign that expires before the rest is over: its marketing message to a resting recipient expires.
    await enqueue(readJsonl(Readable.from([jsonl([{ to: phone(12), body: MARKETING, request_id: 'c-sale' }])])), {
      campaign: 'c',
      ledger: h.ledger,
      queue: h.send,
      control: { priority: 'normal', expiresAt: Date.now() + 1000 },
    });
    await until(async () => (await h.ledger.get('b-shipped'))?.status === 'sent');
    await until(async () => Number(await h.redis.hget(h.keys.metrics, 'marketing_rest_waits')) >= 1);
    expect(await h.ledger.get('b-sale')).toMatchObject({ status: 'pending', attempts: 0 });
    expect(sim.acceptedByRequestId.has('b-sale')).toBe(false);

    await campaignDone(h.ledger, 'c');
    expect(await h.ledger.get('c-sale')).toMatchObject({
      status: 'skipped',
      attempts: 0,
      error: { reason: 'expired' },
    });
    expect(sim.acceptedByRequestId.has('c-sale')).toBe(false);
    await campaignDone(h.ledger, 'b');
    expect(await h.ledger.get('b-sale')).toMatchObject({ status: 'sent', attempts: 1 });
    expect(sim.acceptedByRequestId.get('b-sale')).toBe(1);
    const metrics = await (await fetch(`${dashboard.url}/metrics`)).text();
    expect(metrics).toMatch(/^wa_bulk_quality_actions_total\{action="recipient_rested"\} [3-9]$/m);
    expect(metrics).toMatch(/^wa_bulk_marketing_rest_waits_total [1-9]\d*$/m);
  });
});

describe('a FREQUENCY_CAP place given back', () => {
  async function setup(pairIntervalMs: number) {
    return stack.start({
      simulator: { templateCatalog: CATALOG, deliveryFailRate: 0 },
      config: { FREQUENCY_CAP: '5/7d', PAIR_INTERVAL_MS: pairIntervalMs },
      worker: true,
    });
  }
  const places = (i: number) => stack.h.redis.zrange(stack.h.keys.marketingSent(digits(i)), '0', '-1');

  /**
   * Two marketing templates to one recipient: one is sent, the other takes its place and then waits out the
   * pair interval (delayed, holding it). Its request_id.
   */
  async function waiting(campaign: string, i: number, control?: Parameters<typeof enqueue>[1]['control']) {
    const ids = [`${campaign}-1`, `${campaign}-2`];
    await enqueue(
      readJsonl(Readable.from([jsonl(ids.map((id) => ({ to: phone(i), body: MARKETING, request_id: id })))])),
      {
        campaign,
        ledger: stack.h.ledger,
        queue: stack.h.send,
        ...(control && { control }),
      },
    );
    await until(async () => (await places(i)).length === 2 && (await stack.h.send.getDelayedCount()) === 1);
    const [job] = await stack.h.send.getJobs(['delayed']);
    return job?.data.request_id as string;
  }

  it('by a cancel or a remove that catches a message holding one while it waits for its pacing', async () => {
    const { config, h, sim } = await setup(600_000);
    const env = envOf(config);
    const cancelled = await waiting('p', 31);
    expect(await h.ledger.get(cancelled)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await places(31)).toContain(cancelled);
    expect((await runCli(['cancel', '--campaign', 'p'], env)).code).toBe(0);
    expect(await h.ledger.get(cancelled)).toMatchObject({ status: 'skipped', error: { reason: 'cancelled' } });
    expect(await places(31)).toEqual([cancelled === 'p-1' ? 'p-2' : 'p-1']);

    const removed = await waiting('q', 32);
    expect((await runCli(['remove', removed], env)).code).toBe(0);
    expect(await h.ledger.get(removed)).toMatchObject({ status: 'skipped', error: { reason: 'removed' } });
    expect(await places(32)).toEqual([removed === 'q-1' ? 'q-2' : 'q-1']);
    // The one sent keeps its place.
    expect(sim.acceptedByRequestId.size).toBe(2);
  });

  it('by a message that expires while it waits for its pacing', async () => {
    const { h, sim } = await setup(4000);
    const expired = await waiting('r', 33, { priority: 'normal', expiresAt: Date.now() + 2500 });
    await campaignDone(h.ledger, 'r');
    expect(await h.ledger.get(expired)).toMatchObject({ status: 'skipped', error: { reason: 'expired' } });
    expect(sim.acceptedByRequestId.has(expired)).toBe(false);
    expect(await places(33)).toEqual([expired === 'r-1' ? 'r-2' : 'r-1']);
  });
});

describe('the rest', () => {
  it('a 131049 row that does not name its recipient rests the one its message was sent to', async () => {
    const { h, dashboard } = await stack.start({
      simulator: { templateCatalog: CATALOG },
      dashboard: true,
      worker: true,
    });
    await send('a', [{ to: phone(21), body: MARKETING, request_id: 'a-21' }]);
    await campaignDone(h.ledger, 'a');
    const messageId = (await h.ledger.get('a-21'))?.message_id as string;
    const row = {
      message_id: messageId,
      itime: Math.floor(Date.now() / 1000),
      status: { message_status: 'delivered_failed', error_code: 131049, error_detail: { message: 'Meta 131049' } },
    };
    const res = await fetch(`${dashboard.url}/callbacks/engagelab`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ total: 1, rows: [row] }),
    });
    expect(res.status).toBe(200);
    await until(async () => (await h.redis.exists(h.keys.marketingRest(digits(21)))) === 1);
    const ttl = await h.redis.pttl(h.keys.marketingRest(digits(21)));
    expect(ttl > 86_000_000 && ttl <= 86_400_000).toBe(true);
  });
});
