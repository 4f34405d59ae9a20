import { afterEach, describe, expect, it } from '@jest/globals';
import { enqueue } from '../../producers/enqueue.js';
import { itemsOfArray } from '../../producers/jsonl-reader.js';
import { startDashboard, type Dashboard } from '../../src/http/dashboard.js';
import { Fatigue } from '../../src/recipients/fatigue.js';
import { runCli } from '../helpers/cli.js';
import { envOf, harness, silentLogger, testConfig, type Harness } from '../helpers/env.js';

/**
 * A campaign whose pending template messages wait out their recipients' marketing rest (MARKETING_REST after
 * 131049) promises no ETA sooner than the rests end, and `status` and the campaigns page say why it waits.
 */

let h: Harness | undefined;
let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  await h?.close();
  dashboard = h = undefined;
});

const PASSWORD = 'eta-rest-password';
const body = { type: 'template', template: { name: 'winter_sale', language: 'en' } };
const GB = (i: number) => `4420794600${String(i).padStart(2, '0')}`;

describe('the ETA of a campaign waiting out marketing rests', () => {
  it('is no sooner than the last rest ends, and says how many messages wait for one', async () => {
    const config = testConfig({ MARKETING_REST: '1h', DASHBOARD_PORT: 0, DASHBOARD_PASSWORD: PASSWORD });
    h = harness(config);
    const items = [0, 1, 2, 3].map((i) => ({ to: `+${GB(i)}`, body, request_id: `r-${i}` }));
    expect(await enqueue(itemsOfArray(items), { campaign: 'rested', ledger: h.ledger, queue: h.send })).toMatchObject({
      accepted: 4,
    });
    await h.ledger.markSent('r-0', 'rested', 'mid-r-0');
    const env = envOf(config);
    const status = async () => {
      const out = await runCli(['status', '--campaign', 'rested', '--json'], env);
      return (JSON.parse(out.stdout) as { campaign: { eta: string; resting?: unknown } }).campaign;
    };
    // Nobody rests: the ETA comes from the rate alone, within seconds.
    const before = await status();
    expect(before.resting).toBeUndefined();
    expect(Date.parse(before.eta) - Date.now()).toBeLessThan(10 * 60_000);

    // Two of the three pending recipients got Meta's 131049: they rest for an hour.
    const fatigue = new Fatigue(h.redis, h.keys, config);
    const restStart = Date.now();
    expect(await fatigue.rest(GB(1))).toBe(true);
    expect(await fatigue.rest(GB(2))).toBe(true);
    const after = await status();
    expect(after.resting).toEqual({ messages: 2, until: expect.any(String), partial: false });
    const until = Date.parse((after.resting as { until: string }).until);
    expect(until).toBeGreaterThanOrEqual(restStart + 3_600_000);
    expect(Date.parse(after.eta)).toBeGreaterThanOrEqual(until);

    const words = (await runCli(['status', '--campaign', 'rested'], env)).stdout;
    expect(words).toMatch(/ETA \S+ \S+ \(in (59 min \d+ s|1 h 0 min)\)/);
    expect(words).toContain("2 waiting out their recipients' marketing rest until");

    dashboard = await startDashboard(config, silentLogger());
    const page = await fetch(`${dashboard.url}/campaigns`, {
      headers: { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` },
    });
    const html = await page.text();
    expect(html).toMatch(/ETA \S+ \S+ \(in (59 min \d+ s|1 h 0 min)\)/);
    expect(html).toContain('2 waiting out their recipients&#39; marketing rest until');
  });
});
