import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { pauseSending } from '../../src/lanes/fleet.js';
import { Campaigns } from '../../src/campaigns/campaigns.js';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import { BODIES } from '../fixtures/messages.js';
import { addPending, harness, silentLogger, testConfig, type Harness } from '../helpers/env.js';

/** A real browser (Debian's Chromium, driven by playwright-core) against the real dashboard. */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const PASSWORD = 'browser-test-password';

let browser: Browser;
let h: Harness | undefined;
let dashboard: Dashboard | undefined;

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await dashboard?.close();
  await h?.close();
  dashboard = h = undefined;
});

describe('the dashboard in a browser', () => {
  it('shows both queues with the job counts the test enqueued, and refuses a visitor without credentials', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    for (let i = 0; i < 7; i++) {
      await h.send.add(
        'send',
        { request_id: `b-${i}`, campaign: 'browser', payload: { to: ['447911123456'], body: BODIES.text as never } },
        { jobId: `b-${i}` },
      );
    }
    for (let i = 0; i < 3; i++) {
      await deadLetter(
        h.dead,
        h.ledger,
        { request_id: `d-${i}`, campaign: 'browser', payload: { to: ['447911123456'], body: BODIES.text as never } },
        { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' },
        1,
      );
    }
    dashboard = await startDashboard(config, silentLogger());

    const anonymous = await browser.newContext();
    // Chromium turns a 401 page without credentials into a navigation error; its request API shows the status.
    const navigation = await (await anonymous.newPage()).goto(`${dashboard.url}/queues`).then(
      (r) => `HTTP ${r?.status()}`,
      (e: Error) => e.message,
    );
    expect(navigation).toMatch(/ERR_INVALID_AUTH_CREDENTIALS|HTTP 401/);
    expect((await anonymous.request.get(`${dashboard.url}/queues`)).status()).toBe(401);
    expect((await anonymous.request.get(`${dashboard.url}/queues/api/queues`)).status()).toBe(401);
    await anonymous.close();

    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    const response = await page.goto(`${dashboard.url}/queues`);
    expect(response?.status()).toBe(200);
    await page.waitForFunction(
      "!document.body.innerText.includes('Loading') && /\\d/.test(document.body.innerText)",
      undefined,
      { timeout: 15_000 },
    );
    const text = await page.locator('body').innerText();
    expect(text).toMatch(/send/);
    expect(text).toMatch(/dead/);

    // The counts the UI shows come from its API; check the page's own data and what it renders.
    const api = await page.evaluate(async () => (await fetch('/queues/api/queues')).json());
    const queues = (api as { queues: Array<{ name: string; counts: Record<string, number> }> }).queues;
    expect(queues.find((q) => q.name === 'send')?.counts.waiting).toBe(7);
    expect(queues.find((q) => q.name === 'dead')?.counts.failed).toBe(3);
    expect(text).toMatch(/\b7 Jobs\b/);
    expect(text).toMatch(/\b3 Jobs\b/);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    await context.close();
  });

  it('opened as http://user:password@host/queues, Bull Board loads its queues', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    for (let i = 0; i < 4; i++)
      await h.send.add(
        'send',
        { request_id: `u-${i}`, campaign: 'browser', payload: { to: ['447911123456'], body: BODIES.text as never } },
        { jobId: `u-${i}` },
      );
    dashboard = await startDashboard(config, silentLogger());
    // No stored credentials: only those in the URL, as an operator types them.
    const context = await browser.newContext();
    const page = await context.newPage();
    const origin = new URL(dashboard.url);
    const response = await page.goto(`http://admin:${PASSWORD}@${origin.host}/queues`);
    expect(response?.status()).toBe(200);
    await page.waitForFunction(
      "!document.body.innerText.includes('Loading') && /\\b4 Jobs\\b/.test(document.body.innerText)",
      undefined,
      { timeout: 15_000 },
    );
    const text = await page.locator('body').innerText();
    expect(text).toMatch(/send/);
    expect(text).toMatch(/dead/);
    // The page was loaded again without the credentials in its URL; the browser kept them for the origin.
    expect(page.url()).toBe(`${dashboard.url}/queues`);
    await context.close();
  });

  it("shows why sending is paused, each dead letter's code and message, and keeps dead letters out of the waiting total", async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    for (let i = 0; i < 7; i++) {
      await h.send.add(
        'send',
        { request_id: `b-${i}`, campaign: 'browser', payload: { to: ['447911123456'], body: BODIES.text as never } },
        { jobId: `b-${i}` },
      );
    }
    const diedAfter = Date.now();
    for (let i = 0; i < 3; i++) {
      await deadLetter(
        h.dead,
        h.ledger,
        { request_id: `d-${i}`, campaign: 'browser', payload: { to: ['447911123456'], body: BODIES.text as never } },
        { code: 4001, http_status: 400, reason: 'permanent', message: 'template order_update (en) does not exist' },
        1,
      );
    }
    await pauseSending(h.redis, h.keys, 'auth: EngageLab 2001 authentication failed');
    dashboard = await startDashboard(config, silentLogger());
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const loaded = "!document.body.innerText.includes('Loading') && /\\d/.test(document.body.innerText)";

    // The overview: 7 waiting (the sends), 3 failed (the dead letters), not 10 waiting.
    await page.goto(`${dashboard.url}/queues`);
    await page.waitForFunction(loaded, undefined, { timeout: 15_000 });
    const api = (await page.evaluate(async () => (await fetch('/queues/api/queues')).json())) as {
      queues: Array<{ name: string; counts: Record<string, number>; description?: string; hasWorkers: boolean | null }>;
    };
    const byName = Object.fromEntries(api.queues.map((q) => [q.name, q]));
    const total = (status: string) => api.queues.reduce((sum, q) => sum + (q.counts[status] ?? 0), 0);
    expect([total('waiting'), total('failed')]).toEqual([7, 3]);
    expect(byName.dead?.hasWorkers).toBeNull();

    // The send queue says why it is paused.
    await page.goto(`${dashboard.url}/queues/queue/send`);
    await page.waitForFunction(loaded, undefined, { timeout: 15_000 });
    expect(await page.locator('body').innerText()).toContain('PAUSED: auth: EngageLab 2001 authentication failed');

    // Each dead letter: its code and reason as its name, EngageLab's message in the Error tab, died_at as a date; no "no workers" badge.
    await page.goto(`${dashboard.url}/queues/queue/dead?status=failed`);
    await page.waitForFunction("document.body.innerText.includes('4001 permanent')", undefined, { timeout: 15_000 });
    const text = await page.locator('body').innerText();
    expect(text).toContain('4001 permanent: template order_update (en) does not exist');
    expect(text).not.toContain('No errors recorded');
    expect(await page.getByLabel('Nothing is consuming this queue').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}dashboard-dead-letters.png`, fullPage: true });
    await page.getByText('Data', { exact: true }).first().click();
    const diedAt = /died_at:\s*"([^"]+)"/.exec(await page.locator('body').innerText())?.[1];
    expect(Date.parse(diedAt ?? '')).toBeGreaterThanOrEqual(diedAfter - 1000);
    expect(diedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await context.close();
  });

  it('the campaigns page shows every campaign at a glance, and its buttons act with the credentials only', async () => {
    const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    const campaigns = new Campaigns(h.redis, h.keys);
    await addPending(
      h,
      'spring-sale',
      Array.from({ length: 40 }, (_, i) => `s-${i}`),
    );
    for (let i = 0; i < 25; i++) await h.ledger.markSent(`s-${i}`, 'spring-sale', `mid-s-${i}`);
    for (let i = 25; i < 28; i++)
      await deadLetter(
        h.dead,
        h.ledger,
        {
          request_id: `s-${i}`,
          campaign: 'spring-sale',
          payload: { to: ['447911123456'], body: BODIES.text as never },
        },
        { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' },
        1,
      );
    await addPending(h, 'otp-codes', ['o-1', 'o-2']);
    await h.ledger.markSent('o-1', 'otp-codes', 'mid-o-1');
    await h.ledger.markSent('o-2', 'otp-codes', 'mid-o-2');
    await addPending(h, 'newsletter', ['n-1', 'n-2', 'n-3']);
    await campaigns.pause('newsletter', 'quality: 31% of the latest 200 delivery outcomes failed');
    dashboard = await startDashboard(config, silentLogger());

    const anonymous = await browser.newContext();
    expect((await anonymous.request.get(`${dashboard.url}/campaigns`)).status()).toBe(401);
    expect(
      (await anonymous.request.post(`${dashboard.url}/api/campaigns/spring-sale/cancel`, { data: {} })).status(),
    ).toBe(401);
    await anonymous.close();

    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${dashboard.url}/campaigns`);
    await page.waitForSelector('#campaign-spring-sale');
    const card = (id: string) => page.locator(`#campaign-${id}`).innerText();
    expect(await card('spring-sale')).toMatch(
      /SENDING[\s\S]*28 of 40 done \(70\.0%\)[\s\S]*sent 25[\s\S]*dead 3[\s\S]*pending 12[\s\S]*dead letters: 4001 × 3/,
    );
    expect(await card('otp-codes')).toMatch(/DONE/);
    expect(await card('newsletter')).toMatch(
      /PAUSED[\s\S]*paused: quality: 31% of the latest 200 delivery outcomes failed/,
    );
    // A GET never changes anything.
    expect((await page.request.get(`${dashboard.url}/api/campaigns/spring-sale/cancel`)).status()).toBe(404);
    expect((await h.ledger.campaign('spring-sale'))?.state).toBe('sending');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}campaigns.png`, fullPage: true });

    // The buttons: pause, then resume, the newsletter's state follows.
    await page.locator('#campaign-spring-sale button', { hasText: 'Pause' }).click();
    await page.waitForFunction("document.querySelector('#campaign-spring-sale .state')?.textContent === 'paused'");
    expect((await h.ledger.campaign('spring-sale'))?.state).toBe('paused');
    // Beside it, who paused it and when (the audit log).
    await page.waitForFunction(
      "/^paused by dashboard at \\d\\d:\\d\\d/.test(document.querySelector('#campaign-spring-sale .by')?.textContent ?? '')",
    );
    await page.locator('#campaign-newsletter button', { hasText: 'Resume' }).click();
    await page.waitForFunction("document.querySelector('#campaign-newsletter .state')?.textContent === 'sending'");
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator('#campaign-newsletter button', { hasText: 'Cancel' }).click();
    await page.waitForFunction("document.querySelector('#campaign-newsletter .state')?.textContent === 'cancelled'");
    expect(await h.ledger.campaign('newsletter')).toMatchObject({ state: 'cancelled', skipped: 3, pending: 0 });
    const metrics = await (await page.request.get(`${dashboard.url}/metrics`)).text();
    expect(metrics).toMatch(/^wa_bulk_campaigns\{state="paused"\} 1$/m);
    expect(metrics).toMatch(/^wa_bulk_campaigns\{state="done"\} 1$/m);
    expect(metrics).toMatch(/^wa_bulk_campaigns\{state="cancelled"\} 1$/m);
    await context.close();
  });
});
