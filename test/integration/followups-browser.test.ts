import { describe, expect, it } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createFollowup, followupInput, FOLLOWUP_FIELDS } from '../../producers/followups.js';
import { addPending } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { Followups } from '../../src/campaigns/followups.js';
import { useChromium } from '../helpers/browser.js';
import { FOLLOWUP_QUEUE, openQueue, type FollowupJob } from '../../src/queue.js';

/** The campaigns page's follow-ups block in a real browser (Debian's Chromium): shown, and cancelled by its button. */

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const PASSWORD = 'followups-browser-password';

const browser = useChromium();
const stack = useStack();

describe('follow-ups on the campaigns page', () => {
  it('lists each rule with its due time and state, and its Cancel button cancels a scheduled one', async () => {
    const { config, h } = await stack.start({ config: { DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD } });
    await addPending(h, 'spring', ['s-1', 's-2']);
    await h.ledger.markSent('s-1', 'spring', 'mid-s-1');
    const followups = new Followups(h.redis, h.keys, 60_000);
    const queue = openQueue<FollowupJob>(h.redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
    const make = async (raw: Record<string, unknown>) => {
      const made = await createFollowup(followupInput(raw, FOLLOWUP_FIELDS), {
        ledger: h.ledger,
        followups,
        queue,
        actor: 'test',
      });
      if (!made.ok) throw new Error(made.error);
      return made.followup;
    };
    const later = await make({
      from: 'spring',
      where: 'not_read',
      after: '24h',
      campaign: 'spring-reminder',
      text: 'Still there?',
    });
    const other = await make({
      from: 'spring',
      where: 'failed',
      at: '2030-01-01T09:00:00Z',
      campaign: 'spring-retry',
      template: 'promo',
      language: 'en',
    });
    await queue.close();
    const dashboard = await stack.startDashboard();

    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    await page.goto(`${dashboard.url}/campaigns`);
    const row = (id: string) => page.locator(`#followup-${id}`);
    expect(await row(later.id).innerText()).toMatch(
      /spring → spring-reminder\s+not_read after 24h\s+text "Still there\?"[\s\S]*scheduled/,
    );
    expect(await row(other.id).innerText()).toMatch(
      /spring → spring-retry\s+failed\s+template promo \(en\)\s+2030-01-01 09:00:00Z\s+scheduled/,
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}followups.png`, fullPage: true });

    page.once('dialog', (dialog) => void dialog.accept());
    await row(later.id).locator('button', { hasText: 'Cancel' }).click();
    await page.waitForFunction(`document.querySelector('#followup-${later.id}')?.classList.contains('cancelled')`);
    expect(await row(later.id).innerText()).toMatch(/cancelled by dashboard at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
    expect(await row(later.id).locator('button').count()).toBe(0);
    expect((await followups.get(later.id))?.state).toBe('cancelled');
    expect((await followups.get(other.id))?.state).toBe('scheduled');
    await context.close();
  });
});
