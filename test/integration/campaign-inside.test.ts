import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueue, scan } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import type { TemplateInfo } from '../../src/engagelab/client.js';
import type { DeliveryUpdate } from '../../src/ledger/delivery.js';
import type { CampaignCounts, MessageRecord } from '../../src/ledger/records.js';
import { parseRateCard } from '../../src/preflight/cost.js';
import { preflightFromConfig } from '../../src/preflight/preflight.js';
import { useChromium } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { addPending, envOf, tempFile, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

/** Where a screenshot goes, for a person to look at: a directory of this run's own under the temp directory. */
let screenshots: string | undefined;
const screenshot = (name: string) => join((screenshots ??= mkdtempSync(join(tmpdir(), 'wa-bulk-screenshots-'))), name);

/**
 * Inside a campaign: the billable messages counted once from the callbacks' pricing, the per-minute timeline,
 * the estimate kept at enqueue, and the campaigns page's panel (messages by outcome, CSV, dead letters by
 * code, the chart) in a real browser against a campaign the simulator sent and reported on.
 */

const PASSWORD = 'inside-test-password';
const AUTH = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const browser = useChromium();
const stack = useStack();

const update = (
  status: DeliveryUpdate['status'],
  billable?: DeliveryUpdate['billable'],
  errorCode: number | null = null,
): DeliveryUpdate => ({
  status,
  at: Date.now(),
  errorCode,
  error: errorCode === null ? null : 'undeliverable',
  lossStep: null,
  lossSource: null,
  ...(billable && { billable }),
});
const GB_MARKETING = { country: 'GB', category: 'marketing' };
const IN_UTILITY = { country: 'IN', category: 'utility' };

describe('inside a campaign', () => {
  it('counts a message billable once, when it is priced and delivered, whatever the order of its callbacks', async () => {
    const { h } = await stack.start();
    const ids = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'];
    await addPending(h, 'priced', ids);
    for (const id of ids) await h.ledger.markSent(id, 'priced', `mid-${id}`);
    const at = (id: string) => ({ requestId: id, campaign: 'priced' });
    // p-1: priced on sent, then delivered and read; the pricing again on delivered does not count twice.
    await h.ledger.applyDelivery(at('p-1'), update('sent', GB_MARKETING));
    await h.ledger.applyDelivery(at('p-1'), update('delivered', GB_MARKETING));
    await h.ledger.applyDelivery(at('p-1'), update('read'));
    // p-2: read first, then a late sent row with its pricing (not further, still counted).
    await h.ledger.applyDelivery(at('p-2'), update('read'));
    await h.ledger.applyDelivery(at('p-2'), update('sent', IN_UTILITY));
    // p-3: priced, then its delivery failed: not billed.
    await h.ledger.applyDelivery(at('p-3'), update('sent', GB_MARKETING));
    await h.ledger.applyDelivery(at('p-3'), update('failed', undefined, 131026));
    // p-4, p-5 by the batch script: delivered without pricing, then the priced row twice.
    const rows = (id: string, u: DeliveryUpdate) => ({ message: at(id), messageId: `mid-${id}`, update: u });
    const bounds = { ttlSeconds: 60, rows: 10, ids: 10 };
    await h.ledger.applyDeliveries([rows('p-4', update('delivered')), rows('p-5', update('sent'))], bounds);
    await h.ledger.applyDeliveries([rows('p-4', update('sent', GB_MARKETING))], bounds);
    await h.ledger.applyDeliveries([rows('p-4', update('delivered', GB_MARKETING))], bounds);

    const campaign = await h.ledger.campaign('priced');
    expect(campaign?.cost?.billable).toEqual({
      messages: 3,
      by_country: { GB: { marketing: 2 }, IN: { utility: 1 } },
      by_category: { marketing: 2, utility: 1 },
    });
    // No template messages were enqueued (the messages are texts): nothing counted or estimated for them.
    expect(campaign?.cost?.templates.messages).toBe(0);
    expect(campaign?.cost?.estimate).toBeNull();

    // The timeline: each message once per state it reached, in its minute (p-2, read, counts as delivered).
    const points = await h.ledger.timeline('priced');
    expect(points).toHaveLength(1);
    expect(points[0]).toMatchObject({ sent: 5, delivered: 3, read: 2, failed: 1 });
    expect(Date.parse(points[0]?.at ?? '') % 60_000).toBe(0);
    // Counted without an enqueue's note (which sets the campaign's TTL), the hash still expires.
    expect(await h.redis.ttl(h.keys.campaignMinutes('priced'))).toBeGreaterThan(0);
  });

  it('keeps the counts of the template messages an enqueue wrote, and their estimate, on the campaign', async () => {
    const { config, h } = await stack.start({ simulator: { templateCatalog: [WINTER] } });
    const card = parseRateCard(CARD, 'card.csv');
    const messages = [
      ...Array.from({ length: 3 }, (_, i) => ({ to: GB(i), body: WINTER_BODY, request_id: `w-${i}` })),
      { to: BR(1), body: WINTER_BODY, request_id: 'w-br' },
      { to: GB(9), body: { type: 'text', text: { body: 'hi' } }, request_id: 'w-text' },
    ];
    const preflight = preflightFromConfig(config, false);
    await scan(itemsOfArray(messages), preflight);
    const common = { campaign: 'winter', ledger: h.ledger, queue: h.send, preflight, rateCard: card };
    expect(await enqueue(itemsOfArray(messages), common)).toMatchObject({ accepted: 5 });
    // Enqueued again: duplicates are not counted twice.
    expect(await enqueue(itemsOfArray(messages), common)).toMatchObject({ duplicates: 5 });
    const cost = (await h.ledger.campaign('winter'))?.cost;
    expect(cost?.templates).toEqual({
      messages: 4,
      by_country: { BR: { marketing: 1 }, GB: { marketing: 3 } },
      by_category: { marketing: 4 },
    });
    expect(cost?.estimate).toMatchObject({ total: { USD: 0.21 }, unpriced: { messages: 0 } });
    expect(cost?.billable.messages).toBe(0);
    const status = await runCli(['status', '--campaign', 'winter'], envOf(config));
    expect(status.stdout).toContain(
      'cost      template messages 4 (marketing 4)  estimate 0.21 USD  billable so far 0\n',
    );
    // The per-minute hash exists before any send, with the campaign's expiry.
    expect(await h.redis.ttl(h.keys.campaignMinutes('winter'))).toBeGreaterThan(0);
  });

  it('the campaigns page opens a campaign the simulator sent: its messages by outcome, CSV, dead letters and chart', async () => {
    const { config, h } = await stack.start({
      simulator: (dashboardUrl) => ({
        templateCatalog: [WINTER],
        callbackUrl: `${dashboardUrl}/callbacks/engagelab`,
        callbackDelayMs: 20,
        deliveryErrors: { 131026: 0.2, 131049: 0.1 },
        readRate: 0.5,
        shuffleRate: 0.2,
      }),
      config: { DASHBOARD_PASSWORD: PASSWORD, QUALITY_MAX_FAILED: 1 },
    });
    const good = Array.from({ length: 40 }, (_, i) => ({
      to: i % 4 === 0 ? BR(i) : GB(i),
      body: WINTER_BODY,
      request_id: `m-${i}`,
    }));
    const preflight = preflightFromConfig(config, false);
    await scan(itemsOfArray(good), preflight);
    const rateCard = parseRateCard(CARD, 'card.csv');
    const common = { campaign: 'winter-sale', ledger: h.ledger, queue: h.send, rateCard };
    expect(await enqueue(itemsOfArray(good), { ...common, preflight })).toMatchObject({ accepted: 40 });
    // Three of a template EngageLab does not know (no preflight to stop them): dead letters with its message.
    const unknown = { type: 'template', template: { name: 'old_promo', language: 'en' } };
    const bad = Array.from({ length: 3 }, (_, i) => ({ to: GB(50 + i), body: unknown, request_id: `x-${i}` }));
    expect(await enqueue(itemsOfArray(bad), common)).toMatchObject({ accepted: 3 });
    const dashboard = await stack.startDashboard();
    await stack.startWorker();
    // Every sent message reported delivered, read or failed, and every billable one counted.
    await until(async () => {
      const c = await h.ledger.campaign('winter-sale');
      return !!c && c.pending === 0 && c.delivery.delivered + c.delivery.failed === c.sent;
    }, 30_000);
    const campaign = (await h.ledger.campaign('winter-sale')) as CampaignCounts;
    expect(campaign).toMatchObject({ sent: 40, dead: 3 });
    expect(campaign.delivery.failed).toBeGreaterThan(0);
    const delivered = campaign.delivery.delivered;
    // Meta bills the delivered template messages: the simulator's pricing, each message once.
    expect(campaign.cost?.billable.messages).toBe(delivered);
    expect(campaign.cost?.billable.by_category).toEqual({ marketing: delivered });
    expect(campaign.cost?.templates.messages).toBe(43);

    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 1000 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${dashboard.url}/campaigns`);
    expect(await page.locator('#campaign-winter-sale').innerText()).toMatch(
      new RegExp(`template messages 43 · estimate 2.1 USD · billable so far ${delivered}`),
    );
    await page.locator('#campaign-winter-sale a', { hasText: 'open' }).click();
    await page.waitForSelector('#inside-messages tbody tr');
    expect(await page.locator('#inside-title').innerText()).toBe('winter-sale · done');
    expect(await page.locator('#inside-cost').innerText()).toMatch(
      new RegExp(
        `template messages 43 \\(marketing 40, unknown 3\\) · estimate 2.1 USD \\(3 unpriced\\) · billable so far ${delivered} \\(marketing ${delivered}\\)`,
      ),
    );
    // Newest first, 43 messages: a first page of 50 holds them all; recipients masked.
    const rows = page.locator('#inside-messages tbody tr');
    expect(await rows.count()).toBe(43);
    const first = await rows.first().innerText();
    expect(first).toContain('x-2');
    expect(first).toMatch(/4420\*+52/);
    expect(first).toMatch(/dead[\s\S]*4001 · permanent · /);
    expect(await page.locator('#inside-count').innerText()).toBe('43 shown, no more');

    // The chart: running totals of the four states, a point per minute with counts.
    await page.waitForSelector('#inside-chart polyline[data-series="sent"]');
    const minutes = (await h.ledger.timeline('winter-sale')).length;
    expect(await page.locator('#inside-chart circle[data-series="sent"]').count()).toBe(minutes);
    expect(await page.locator('#inside-chart polyline').count()).toBe(campaign.delivery.read > 0 ? 4 : 3);
    expect(await page.locator('#inside-chart .legend').innerText()).toMatch(
      new RegExp(`sent 40[\\s\\S]*delivered ${delivered}[\\s\\S]*failed ${campaign.delivery.failed}`),
    );

    // A filter: the failed deliveries with code 131049.
    const failed131049 = campaign.delivery_failed_by_code['131049'] ?? 0;
    expect(failed131049).toBeGreaterThan(0);
    await page.selectOption('#inside-filter select[name="delivery"]', 'failed');
    await page.fill('#inside-filter input[name="code"]', '131049');
    await page.locator('#inside-filter button[type="submit"]').click();
    await page.waitForFunction(`document.querySelectorAll('#inside-messages tbody tr').length === ${failed131049}`);
    for (const text of await rows.allInnerTexts()) expect(text).toMatch(/sent\s+failed[\s\S]*delivery failed: 131049/);

    // The CSV link carries the same filter, and the export answers exactly those messages.
    const href = (await page.locator('#inside-csv').getAttribute('href')) ?? '';
    const url = new URL(href, dashboard.url);
    expect(url.pathname).toBe('/api/campaigns/winter-sale/export');
    expect(Object.fromEntries(url.searchParams)).toEqual({ delivery: 'failed', code: '131049', format: 'csv' });
    const csv = await page.request.get(url.toString());
    expect(csv.headers()['content-type']).toMatch(/^text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines).toHaveLength(1 + failed131049);
    expect(lines.slice(1).every((line) => line.includes(',131049'))).toBe(true);

    // Dead letters by code with EngageLab's message.
    expect(await page.locator('#inside-dead').innerText()).toMatch(/4001 × 3 \(permanent\): .*old_promo/);

    await page.screenshot({ path: screenshot('campaign-page.png'), fullPage: true });
    expect(errors).toEqual([]);
    expect(await page.locator('#error').innerText()).toBe('');
    await context.close();
  });

  it('opens a campaign from /campaigns#open=ID, and its Next page shows the older messages after the first 50', async () => {
    const { h } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    const ids = Array.from({ length: 62 }, (_, i) => `n-${i}`);
    await addPending(h, 'long-one', ids);
    await addPending(h, 'other', ['o-1']);
    const dashboard = await stack.startDashboard();
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // Straight from the address, no click: the campaign named there is opened.
    await page.goto(`${dashboard.url}/campaigns#open=long-one`);
    await page.waitForSelector('#inside-messages tbody tr');
    expect(await page.locator('#inside').isVisible()).toBe(true);
    expect(await page.locator('#inside-title').innerText()).toMatch(/^long-one · /);
    const idsShown = async () =>
      (await page.locator('#inside-messages tbody tr').allInnerTexts()).map((row) => row.trim().split(/\s+/).pop());
    // The first page: the 50 latest enqueued, newest first.
    const newest = ids.slice().reverse();
    expect(await idsShown()).toEqual(newest.slice(0, 50));
    expect(await page.locator('#inside-count').innerText()).toBe('50 shown, more to look at');
    const next = page.locator('#inside-more');
    expect(await next.isVisible()).toBe(true);
    await page.screenshot({ path: screenshot('campaign-open-from-url.png') });

    await next.click();
    await page.waitForFunction(`document.querySelectorAll('#inside-messages tbody tr').length === ${ids.length}`);
    // The next page follows on: the 12 older ones, still newest first, none shown twice.
    const all = await idsShown();
    expect(all.slice(50)).toEqual(newest.slice(50));
    expect(new Set(all).size).toBe(ids.length);
    expect(await page.locator('#inside-count').innerText()).toBe('62 shown, no more');
    expect(await next.isVisible()).toBe(false);
    // The other campaign's message is not among them, and the address still names the campaign.
    expect(all).not.toContain('o-1');
    expect(new URL(page.url()).hash).toBe('#open=long-one');

    await page.locator('#inside-more-line').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshot('campaign-next-page.png') });
    expect(errors).toEqual([]);
    expect(await page.locator('#error').innerText()).toBe('');
    await context.close();
  });

  it('over the HTTP API, keeps the estimate with a readable rate card, and enqueues with a note without one', async () => {
    const good = tempFile(CARD, 'rates.csv');
    const { config, h } = await stack.start({
      simulator: { templateCatalog: [WINTER] },
      config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD, RATE_CARD_FILE: good },
    });
    let dashboard = await stack.startDashboard();
    const post = (campaign: string) =>
      fetch(`${dashboard.url}/api/campaigns/${campaign}/messages`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json', Origin: dashboard.url },
        body: JSON.stringify([{ to: [GB(1), BR(2)], body: WINTER_BODY }]),
      });
    const priced = await post('api-priced');
    expect(priced.status).toBe(200);
    expect(await h.ledger.campaign('api-priced')).toMatchObject({
      cost: { templates: { messages: 2 }, estimate: { total: { USD: 0.11 } } },
    });
    await dashboard.close();
    dashboard = await stack.startDashboard({ ...config, RATE_CARD_FILE: tempFile('not,a,card\n', 'bad.csv') });
    const unpriced = await post('api-unpriced');
    expect(unpriced.status).toBe(200);
    expect(await unpriced.json()).toMatchObject({
      accepted: 2,
      notes: [expect.stringMatching(/^no cost estimate: RATE_CARD_FILE \S+bad\.csv: the header must be/)],
    });
    expect((await h.ledger.campaign('api-unpriced'))?.cost).toMatchObject({
      templates: { messages: 2 },
      estimate: null,
    });
  });

  it('pages a campaign newest first by the cursor, and refuses an order it does not know', async () => {
    const { h } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    await addPending(
      h,
      'paged',
      Array.from({ length: 7 }, (_, i) => `q-${i}`),
    );
    const dashboard = await stack.startDashboard();
    const page = async (query: string) => {
      const res = await fetch(`${dashboard.url}/api/campaigns/paged/messages?${query}`, { headers: AUTH });
      return {
        status: res.status,
        body: (await res.json()) as { messages: MessageRecord[]; next_cursor: string | null },
      };
    };
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const { body } = await page(`order=newest&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...body.messages.map((m) => m.request_id));
      cursor = body.next_cursor;
      // Messages enqueued meanwhile do not shift the pages.
      if (seen.length === 3) await addPending(h, 'paged', ['q-late']);
    }
    expect(seen).toEqual(['q-6', 'q-5', 'q-4', 'q-3', 'q-2', 'q-1', 'q-0']);
    expect((await page('order=newest&limit=1')).body.messages[0]?.request_id).toBe('q-late');
    const refused = await page('order=sideways');
    expect(refused.status).toBe(400);
    const timeline = await fetch(`${dashboard.url}/api/campaigns/nope/timeline`, { headers: AUTH });
    expect(timeline.status).toBe(404);
  });
});

const WINTER: TemplateInfo = {
  name: 'winter_sale',
  language: 'en',
  status: 'APPROVED',
  category: 'MARKETING',
  components: [{ type: 'BODY', text: 'Hi {{1}}, our winter sale has begun.' }],
};
const WINTER_BODY = {
  type: 'template',
  template: {
    name: 'winter_sale',
    language: 'en',
    components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ada' }] }],
  },
};
const GB = (i: number) => `+4420794600${String(i).padStart(2, '0')}`;
const BR = (i: number) => `+55119876543${String(i).padStart(2, '0')}`;
const CARD = readFileSync('examples/rate-card.csv', 'utf8');
