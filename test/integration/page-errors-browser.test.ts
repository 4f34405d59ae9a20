import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createFollowup, followupInput, FOLLOWUP_FIELDS } from '../../producers/followups.js';
import { Followups } from '../../src/campaigns/followups.js';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import { FOLLOWUP_QUEUE, openQueue, type FollowupJob } from '../../src/queue.js';
import { addPending, harness, silentLogger, testConfig, type Harness } from '../helpers/env.js';

/**
 * The campaigns page's errors in a real browser (Debian's Chromium): each says what the API said, stays where
 * it was caused across the page's refreshes until its action succeeds or the user dismisses it, and the open
 * campaign's panel never shows a table or a CSV link that disagrees with a refused filter.
 */

let screenshots: string | undefined;
const screenshot = (name: string) => join((screenshots ??= mkdtempSync(join(tmpdir(), 'wa-bulk-screenshots-'))), name);

const PASSWORD = 'page-errors-password';
let browser: Browser;
let h: Harness | undefined;
let prefix = '';
let dashboard: Dashboard | undefined;
/** The pages' script errors: none expected. */
const scriptErrors: string[] = [];

beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  if (screenshots) process.stdout.write(`page-errors screenshots: ${screenshots}\n`);
});
afterEach(async () => {
  await dashboard?.close();
  await h?.close();
  dashboard = h = undefined;
  expect(scriptErrors.splice(0)).toEqual([]);
});

async function openPage(path: string): Promise<Page> {
  const context = await browser.newContext({
    httpCredentials: { username: 'admin', password: PASSWORD },
    viewport: { width: 1280, height: 900 },
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => scriptErrors.push(error.message));
  await page.goto(`${dashboard!.url}${path}`);
  return page;
}

/** Resolves once the page's script has fetched the page again `times` times (it swaps <main> each time). */
async function refreshes(page: Page, times: number): Promise<void> {
  for (let i = 0; i < times; i++)
    await page.waitForResponse((r) => new URL(r.url()).pathname === '/campaigns' && r.request().method() === 'GET', {
      timeout: 10_000,
    });
}

async function start(): Promise<void> {
  const config = testConfig({ DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
  h = harness(config);
  prefix = config.QUEUE_PREFIX;
  await addPending(h, 'spring', ['s-1', 's-2', 's-3']);
  await h.ledger.markSent('s-1', 'spring', 'mid-s-1');
  dashboard = await startDashboard(config, silentLogger());
}

describe('errors on the campaigns page', () => {
  it("keeps a refused follow-up cancel's message by its row, in the API's words, until dismissed", async () => {
    await start();
    const followups = new Followups(h!.redis, h!.keys, 60_000);
    const queue = openQueue<FollowupJob>(h!.redis, prefix, FOLLOWUP_QUEUE);
    const made = await createFollowup(
      followupInput(
        { from: 'spring', where: 'not_read', after: '24h', campaign: 'spring-reminder', text: 'Still there?' },
        FOLLOWUP_FIELDS,
      ),
      { ledger: h!.ledger, followups, queue, actor: 'test' },
    );
    await queue.close();
    if (!made.ok) throw new Error(made.error);
    const id = made.followup.id;
    const page = await openPage('/campaigns');
    // Cancelled elsewhere (the CLI) after the page showed it scheduled.
    expect(await followups.cancel(id, 'cli')).toEqual({ cancelled: true });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator(`#followup-${id} button`, { hasText: 'Cancel' }).click();
    const notice = page.locator(`#followup-${id} .notice`);
    await notice.waitFor();
    expect(await notice.innerText()).toContain(
      `cancel refused: follow-up ${id} is cancelled: it can no longer be cancelled`,
    );
    // The page refreshes twice: the row now says cancelled, and the message is still there beside it.
    await refreshes(page, 2);
    expect(await page.locator(`#followup-${id}`).innerText()).toMatch(/cancelled by cli/);
    expect(await notice.innerText()).toContain('it can no longer be cancelled');
    expect(await page.locator('#error').innerText()).toBe('');
    await page.screenshot({ path: screenshot('followup-refused.png'), fullPage: true });
    await notice.locator('button[data-dismiss]').click();
    expect(await page.locator('.notice').count()).toBe(0);
    await refreshes(page, 1);
    expect(await page.locator('.notice').count()).toBe(0);
    await page.context().close();
  });

  it("says why a card's button was refused in the header once the card is gone", async () => {
    await start();
    const page = await openPage('/campaigns');
    // Redis lets the campaign go (RESULT_TTL_DAYS) while the page still shows its card.
    await h!.redis.del(h!.keys.campaign('spring'));
    await page.locator('#campaign-spring button', { hasText: 'Pause' }).click();
    const words = 'pause refused: no campaign "spring" (unknown, or older than RESULT_TTL_DAYS';
    // The refresh after the click drops the card: the message is said in the header, and stays there.
    await page.locator('#error .notice').waitFor();
    await refreshes(page, 2);
    expect(await page.locator('#campaign-spring').count()).toBe(0);
    expect(await page.locator('#error .notice').innerText()).toContain(words);
    await page.locator('#error .notice button[data-dismiss]').click();
    expect(await page.locator('.notice').count()).toBe(0);
    await page.context().close();
  });

  it('says "no campaign <id>" in the panel for an unknown #open= and stops asking for it', async () => {
    await start();
    const page = await openPage('/campaigns#open=nope');
    const asked: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/api/campaigns/nope')) asked.push(r.url());
    });
    await page.waitForFunction(`document.getElementById('inside-title').textContent === 'no campaign nope'`);
    expect(await page.locator('#inside-body').isHidden()).toBe(true);
    const notice = page.locator('#inside-error .notice');
    expect(await notice.innerText()).toContain('no campaign "nope" (unknown, or older than RESULT_TTL_DAYS');
    // Three refreshes of the page (two seconds apart) outlast the panel's five-second poll: no poll came.
    await refreshes(page, 3);
    expect(asked).toEqual([]);
    expect(await notice.innerText()).toContain('no campaign "nope"');
    expect(await page.locator('#error').innerText()).toBe('');
    await page.screenshot({ path: screenshot('open-unknown.png') });
    await page.context().close();
  });

  it("empties the table and hides the CSV link for a refused filter, saying the API's reason until a good one", async () => {
    await start();
    const page = await openPage('/campaigns#open=spring');
    const rows = page.locator('#inside-messages tbody tr');
    await page.waitForFunction(`document.querySelectorAll('#inside-messages tbody tr').length === 3`);
    const csv = page.locator('#inside-csv');
    expect(await csv.getAttribute('href')).toBe('/api/campaigns/spring/export?format=csv');

    await page.fill('#inside-filter input[name="code"]', 'abc');
    await page.locator('#inside-filter button[type="submit"]').click();
    const notice = page.locator('#inside-filter-error .notice');
    await notice.waitFor();
    expect(await notice.innerText()).toMatch(/^cannot filter: .*code/);
    expect(await notice.innerText()).toContain('expected an error code (an integer), got "abc"');
    expect(await rows.count()).toBe(0);
    expect(await csv.getAttribute('href')).toBeNull();
    expect(await csv.isHidden()).toBe(true);
    await refreshes(page, 2);
    expect(await notice.innerText()).toContain('got "abc"');
    expect(await rows.count()).toBe(0);
    await page.screenshot({ path: screenshot('filter-refused.png') });

    // A good filter: its messages, its CSV link, and no error left.
    await page.fill('#inside-filter input[name="code"]', '');
    await page.selectOption('#inside-filter select[name="status"]', 'pending');
    await page.locator('#inside-filter button[type="submit"]').click();
    await page.waitForFunction(`document.querySelectorAll('#inside-messages tbody tr').length === 2`);
    expect(await page.locator('.notice').count()).toBe(0);
    expect(await csv.getAttribute('href')).toBe('/api/campaigns/spring/export?status=pending&format=csv');
    expect(await csv.isVisible()).toBe(true);

    // Edited, not applied: the table and the link are the applied filter's, so the link hides and the line says so.
    await page.fill('#inside-filter input[name="code"]', '131026');
    expect(await csv.isHidden()).toBe(true);
    expect(await page.locator('#inside-count').innerText()).toBe(
      'The filter changed: Apply shows its messages and its CSV.',
    );
    await page.locator('#inside-filter button[type="submit"]').click();
    await page.waitForFunction(`document.getElementById('inside-count').textContent === '0 shown, no more'`);
    expect(await rows.count()).toBe(0);
    expect(await csv.getAttribute('href')).toBe('/api/campaigns/spring/export?status=pending&code=131026&format=csv');
    expect(await csv.isVisible()).toBe(true);
    await page.context().close();
  });
});
