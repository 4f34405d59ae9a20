import { afterEach, describe, expect, it } from '@jest/globals';
import type { TemplateInfo } from '../../src/engagelab/client.js';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { runCli } from '../helpers/cli.js';
import { envOf, harness, silentLogger, startSimulator, tempFile, testConfig, type Harness } from '../helpers/env.js';
import { jsonl } from '../fixtures/messages.js';

/**
 * The estimate on a campaign agrees with the template messages counted beside it: an enqueue with a rate card
 * estimates all of them again, even when it adds none, and one made before an enqueue without a card says
 * how many it covers.
 */

let h: Harness | undefined;
let sim: Simulator | undefined;
let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  await sim?.stop();
  await h?.close();
  dashboard = h = sim = undefined;
});

const WINTER: TemplateInfo = {
  name: 'winter_sale',
  language: 'en',
  status: 'APPROVED',
  category: 'MARKETING',
  components: [{ type: 'BODY', text: 'Our winter sale has begun.' }],
};
const body = { type: 'template', template: { name: 'winter_sale', language: 'en' } };
const GB = (i: number) => `+4420794600${String(i).padStart(2, '0')}`;
const CARD = ['market,category,price,currency,effective_date', 'GB,marketing,0.05,USD,2025-07-01'].join('\n');
const PASSWORD = 'estimate-test-password';

interface Cost {
  templates: { messages: number };
  estimate: { messages: number; total: Record<string, number> } | null;
}

describe('the cost estimate on a campaign', () => {
  it('says it covers fewer messages after an enqueue without a card, and covers them all after one with a card', async () => {
    sim = await startSimulator({ templateCatalog: [WINTER] });
    const config = testConfig({ ENGAGELAB_BASE_URL: sim.url, DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    const env = envOf(config);
    const carded = { ...env, RATE_CARD_FILE: tempFile(CARD, 'rates.csv') };
    const first = tempFile(jsonl(Array.from({ length: 10 }, (_, i) => ({ to: GB(i), body, request_id: `w-${i}` }))));
    const enqueued = await runCli(['enqueue', first, '--campaign', 'winter', '--json'], carded);
    expect(enqueued.code).toBe(0);

    // One more through the HTTP API of a dashboard that has no rate card.
    dashboard = await startDashboard(config, silentLogger());
    const res = await fetch(`${dashboard.url}/api/campaigns/winter/messages`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`,
      },
      body: JSON.stringify([{ to: GB(10), body, request_id: 'w-10' }]),
    });
    expect(await res.json()).toMatchObject({ accepted: 1 });

    const status = async (e: NodeJS.ProcessEnv) => {
      const out = await runCli(['status', '--campaign', 'winter', '--json'], e);
      expect(out.code).toBe(0);
      return (JSON.parse(out.stdout) as { campaign: { cost: Cost } }).campaign.cost;
    };
    const stale = await status(env);
    expect(stale.templates.messages).toBe(11);
    expect(stale.estimate).toMatchObject({ messages: 10, total: { USD: 0.5 } });
    const words = await runCli(['status', '--campaign', 'winter'], env);
    expect(words.stdout).toContain('estimate 0.5 USD for 10 of them (a later enqueue had no rate card)');
    const page = await fetch(`${dashboard.url}/campaigns`, {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
    });
    expect(await page.text()).toContain('estimate 0.5 USD for 10 of them (a later enqueue had no rate card)');

    // The first file again with the card: all duplicates, and the estimate now covers the 11.
    const again = await runCli(['enqueue', first, '--campaign', 'winter', '--json'], carded);
    expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 0 });
    const fresh = await status(env);
    expect(fresh.templates.messages).toBe(11);
    expect(fresh.estimate).toMatchObject({ messages: 11, total: { USD: 0.55 } });
    const covered = (await runCli(['status', '--campaign', 'winter'], env)).stdout;
    expect(covered).toContain('estimate 0.55 USD  billable so far 0');
    expect(covered).not.toContain('of them');
  });
});
