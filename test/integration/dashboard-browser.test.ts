import { describe, expect, it } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { enqueue } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { pauseSending } from '../../src/lanes/fleet.js';
import { Campaigns } from '../../src/campaigns/campaigns.js';
import { deadLetter } from '../../src/ledger/dead-letters.js';
import { useChromium } from '../helpers/browser.js';
import { BODIES } from '../fixtures/messages.js';
import { addPending, until, type Harness } from '../helpers/env.js';
import { useStack, type StackOptions } from '../helpers/stack.js';

/** A real browser (Debian's Chromium, driven by playwright-core) against the real dashboard. */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const PASSWORD = 'browser-test-password';

// This file's own switches, beside the common ones: no QUIC, no component updates, no sync.
const browser = useChromium(['--disable-quic', '--disable-component-update', '--disable-sync']);
const stack = useStack();
/** The test's Redis handles (and simulator, when asked), its config behind the password. */
const withPassword = (options: StackOptions = {}) =>
  stack.start({ ...options, config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });

/** spring-sale: 40 messages, 25 of them sent and 3 dead letters (4001), the rest pending. */
async function springSale(h: Harness): Promise<void> {
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
      { request_id: `s-${i}`, campaign: 'spring-sale', payload: { to: ['447911123456'], body: BODIES.text as never } },
      { code: 4001, http_status: 400, reason: 'permanent', message: 'template does not exist' },
      1,
    );
}

describe('the dashboard in a browser', () => {
  it('shows both queues with the job counts the test enqueued, and refuses a visitor without credentials', async () => {
    const { h } = await withPassword();
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
    const dashboard = await stack.startDashboard();

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
    const { h } = await withPassword();
    for (let i = 0; i < 4; i++)
      await h.send.add(
        'send',
        { request_id: `u-${i}`, campaign: 'browser', payload: { to: ['447911123456'], body: BODIES.text as never } },
        { jobId: `u-${i}` },
      );
    const dashboard = await stack.startDashboard();
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
    const { h } = await withPassword();
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
    const dashboard = await stack.startDashboard();
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    // What the pages ask of another site (Bull Board links a web font stylesheet): each stopped by the
    // Content-Security-Policy before it leaves the browser, never sent (nor failed on the network).
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(dashboard.url) && !request.url().startsWith('data:')) elsewhere.push(request.url());
    });
    const notStopped: string[] = [];
    page.on('requestfailed', (request) => {
      if (!request.url().startsWith(dashboard.url) && request.failure()?.errorText !== 'csp')
        notStopped.push(`${request.url()}: ${request.failure()?.errorText}`);
    });
    page.on('requestfinished', (request) => {
      if (!request.url().startsWith(dashboard.url)) notStopped.push(`${request.url()}: sent`);
    });
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
    expect(elsewhere.length).toBeGreaterThan(0);
    expect(notStopped).toEqual([]);
    await page.getByText('Data', { exact: true }).first().click();
    const diedAt = /died_at:\s*"([^"]+)"/.exec(await page.locator('body').innerText())?.[1];
    expect(Date.parse(diedAt ?? '')).toBeGreaterThanOrEqual(diedAfter - 1000);
    expect(diedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    await context.close();
  });

  it('the campaigns page shows every campaign at a glance, and its buttons act with the credentials only', async () => {
    const { h } = await withPassword();
    const campaigns = new Campaigns(h.redis, h.keys);
    await springSale(h);
    await addPending(h, 'otp-codes', ['o-1', 'o-2']);
    await h.ledger.markSent('o-1', 'otp-codes', 'mid-o-1');
    await h.ledger.markSent('o-2', 'otp-codes', 'mid-o-2');
    await addPending(h, 'newsletter', ['n-1', 'n-2', 'n-3']);
    await campaigns.pause('newsletter', 'quality: 31% of the latest 200 delivery outcomes failed');
    const dashboard = await stack.startDashboard();

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
      "/^paused by dashboard at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ$/.test(document.querySelector('#campaign-spring-sale .by')?.textContent ?? '')",
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

  it('the campaigns page opened as http://user:password@host/ renders on the server, refreshes, and shows timing, rejected lines, delivery failures and links', async () => {
    const { h } = await withPassword();
    await springSale(h);
    const at = Date.now();
    const update = { error: null, lossStep: null, lossSource: null };
    await h.ledger.applyDelivery(
      { requestId: 's-0', campaign: 'spring-sale' },
      { ...update, status: 'read', at, errorCode: null },
    );
    for (let i = 1; i < 20; i++)
      await h.ledger.applyDelivery(
        { requestId: `s-${i}`, campaign: 'spring-sale' },
        { ...update, status: 'delivered', at, errorCode: null },
      );
    await h.ledger.applyDelivery(
      { requestId: 's-20', campaign: 'spring-sale' },
      { ...update, status: 'failed', at, errorCode: 131026 },
    );
    const broken = { to: '447911123456', body: { type: 'text', text: {} } };
    await enqueue(itemsOfArray([broken, broken]), { campaign: 'spring-sale', ledger: h.ledger, queue: h.send });
    await addPending(h, 'otp-codes', ['o-1']);
    await h.ledger.markSent('o-1', 'otp-codes', 'mid-o-1');
    const campaigns = new Campaigns(h.redis, h.keys);
    await addPending(h, 'flash-sale', ['f-1', 'f-2', 'f-3', 'f-4']);
    await h.ledger.markSent('f-1', 'flash-sale', 'mid-f-1');
    await h.ledger.markSkipped('f-2', 'flash-sale', 'expired');
    await campaigns.cancel('flash-sale', h.ledger);
    await addPending(h, 'newsletter', ['n-1', 'n-2', 'n-3']);
    await campaigns.pause('newsletter', 'quality: 31% of the latest 200 delivery outcomes failed');
    const dashboard = await stack.startDashboard();

    // Without its script the page already shows every campaign (and says how to act without one).
    const still = await browser.newContext({
      javaScriptEnabled: false,
      httpCredentials: { username: 'admin', password: PASSWORD },
    });
    const plain = await still.newPage();
    await plain.goto(`${dashboard.url}/campaigns`);
    expect(await plain.locator('#campaign-spring-sale').innerText()).toMatch(
      /SENDING[\s\S]*28 of 40 done \(70\.0%\)[\s\S]*rejected at enqueue: 2[\s\S]*started /,
    );
    expect(await plain.locator('body').innerText()).toContain('Without JavaScript this page reloads every 10 s');
    await still.close();

    // No stored credentials: the ones in the URL, which the page's own requests must not carry.
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(dashboard.url.replace('http://', `http://admin:${PASSWORD}@`) + '/campaigns');
    const card = () => page.locator('#campaign-spring-sale').innerText();
    const text = await card();
    expect(text).toMatch(/SENDING[\s\S]*28 of 40 done \(70\.0%\)[\s\S]*sent 25[\s\S]*dead 3[\s\S]*pending 12/);
    expect(text).toContain('rejected at enqueue: 2');
    expect(text).toMatch(/started \d{4}-\d\d-\d\d [\d:]+Z · running (\d+ s|under a second) · rate [\d.]+\/s · ETA /);
    // "delivered" counts read messages, as the command line does.
    expect(text).toMatch(/delivery of the 25 sent[\s\S]*delivered \(read included\) 20[\s\S]*read 1[\s\S]*failed 1/);
    expect(text).toContain('dead letters: 4001 × 3');
    expect(text).toContain('delivery failures: 131026 × 1');
    expect(text).toMatch(/export CSV[\s\S]*export JSONL[\s\S]*dead letters \(3\)[\s\S]*rejected lines \(2\)/);
    expect(await page.locator('#campaign-flash-sale').innerText()).toMatch(
      /CANCELLED[\s\S]*skipped: expired 1, cancelled 2/,
    );
    expect(await page.locator('#campaign-otp-codes').innerText()).toMatch(
      /DONE[\s\S]*finished [\s\S]*took (\d+ s|under a second) · rate [\d.]+\/s on average/,
    );

    // It refreshes itself with the credentials the browser keeps for the origin.
    for (let i = 28; i < 33; i++) await h.ledger.markSent(`s-${i}`, 'spring-sale', `mid-s-${i}`);
    await page.waitForFunction(
      "document.querySelector('#campaign-spring-sale')?.innerText.includes('33 of 40 done')",
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.locator('#error').innerText()).toBe('');
    expect(errors).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}campaigns-page.png`, fullPage: true });

    // Its links: the export downloads, the dead letters and rejected lines are the campaign's.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('#campaign-spring-sale a', { hasText: 'export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('spring-sale.csv');
    const csv = readFileSync((await download.path()) ?? '', 'utf8')
      .trim()
      .split('\n');
    expect(csv).toHaveLength(41);
    expect(csv[0]).toMatch(/,delivery_status,delivery_at,delivery_error_code$/);
    await page.locator('#campaign-spring-sale a', { hasText: 'dead letters' }).click();
    const dead = JSON.parse(await page.locator('body').innerText()) as { dead_letters: unknown[] };
    expect(dead.dead_letters).toHaveLength(3);
    await page.goBack();
    await page.locator('#campaign-spring-sale a', { hasText: 'rejected lines' }).click();
    expect(JSON.parse(await page.locator('body').innerText())).toMatchObject({ campaign: 'spring-sale', rejected: 2 });

    // The buttons act with those credentials too.
    await page.goBack();
    await page.locator('#campaign-spring-sale button', { hasText: 'Pause' }).click();
    await page.waitForFunction("document.querySelector('#campaign-spring-sale .state')?.textContent === 'paused'");
    expect((await h.ledger.campaign('spring-sale'))?.state).toBe('paused');
    await context.close();
  });

  it("counts a paused campaign's parked jobs as parked in their lane, not waiting", async () => {
    const { h } = await withPassword({ simulator: {} });
    await addPending(h, 'held', ['h-1', 'h-2', 'h-3']);
    await new Campaigns(h.redis, h.keys).pause('held', 'checking the list');
    await stack.startWorker();
    await until(async () => (await h.redis.scard(h.keys.campaignParked('held'))) === 3, 15_000);
    const dashboard = await stack.startDashboard();
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: PASSWORD } });
    const page = await context.newPage();
    await page.goto(`${dashboard.url}/campaigns`);
    const row = await page.locator('#senders tbody tr').first().innerText();
    expect(row.split('\t').map((cell) => cell.trim())).toEqual(['default', '10,000 / 1,000 ms', '0', '3', 'sending']);
    expect(await page.locator('#campaign-held').innerText()).toContain('3 parked while paused');
    await context.close();
  });
});
