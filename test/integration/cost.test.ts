import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import type { TemplateInfo } from '../../src/engagelab/client.js';
import { runCli } from '../helpers/cli.js';
import { envOf, tempFile } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl } from '../fixtures/messages.js';

/**
 * `check --json` and `enqueue --dry-run --json` count a campaign's template messages by country and category,
 * the categories from the simulator's template API (examples/templates.json, and one approved marketing
 * template), and price them with a rate card at the campaign's time.
 */

const stack = useStack();

const EXAMPLES = JSON.parse(readFileSync('examples/templates.json', 'utf8')) as TemplateInfo[];
const WINTER: TemplateInfo = {
  name: 'winter_sale',
  language: 'en',
  status: 'APPROVED',
  category: 'MARKETING',
  components: [{ type: 'BODY', text: 'Hi {{1}}, our winter sale has begun.' }],
};
/** An approved template whose answer names no category. */
const PLAIN: TemplateInfo = {
  name: 'plain',
  language: 'en',
  status: 'APPROVED',
  components: [{ type: 'BODY', text: 'Hello.' }],
};

const template = (name: string, language: string, ...texts: string[]) => ({
  type: 'template',
  template: {
    name,
    language,
    ...(texts.length > 0 && {
      components: [{ type: 'body', parameters: texts.map((text) => ({ type: 'text', text })) }],
    }),
  },
});

const GB = (i: number) => `+4420794600${String(i).padStart(2, '0')}`;
const US = (i: number) => `+120255501${String(i).padStart(2, '0')}`;
const BR = (i: number) => `+55119876543${String(i).padStart(2, '0')}`;

const CAMPAIGN = [
  { to: GB(1), body: template('winter_sale', 'en', 'Ada') },
  { to: [GB(2), GB(3)], body: template('winter_sale', 'en', 'Bo') },
  { to: US(1), body: template('login_code', 'en', '123456') },
  { to: BR(1), body: template('winter_sale', 'en', 'Cy') },
  { to: BR(2), body: template('plain', 'en') },
  // Not counted: a text message, and a paused template (a reject).
  { to: GB(4), body: BODIES.text },
  { to: US(2), body: template('spring_sale', 'en_US', 'Di', 'Monday') },
];

const CARD = [
  '# example figures for the test',
  'market,category,price,currency,effective_date',
  'GB,marketing,0.05,USD,2025-07-01',
  'GB,marketing,0.07,USD,2030-01-01',
  'US,authentication,0.004,USD,2025-07-01',
  'default,marketing,0.06,USD,2025-07-01',
].join('\n');

async function run(command: string[], env: NodeJS.ProcessEnv) {
  const res = await runCli([...command, tempFile(jsonl(CAMPAIGN)), '--campaign', 'priced', '--json'], env);
  expect(res.code).toBe(1); // the paused template's line
  return JSON.parse(res.stdout) as { accepted: number; rejected: number; cost: Record<string, unknown> };
}

describe('cost', () => {
  it('counts template messages by country and category, and estimates them with a rate card at the campaign time', async () => {
    const { config, h } = await stack.start({ simulator: { templateCatalog: [...EXAMPLES, WINTER, PLAIN] } });
    const counts = {
      messages: 6,
      by_country: { BR: { marketing: 1, unknown: 1 }, GB: { marketing: 3 }, US: { authentication: 1 } },
      by_category: { marketing: 4, unknown: 1, authentication: 1 },
    };

    // Without a rate card: the counts only.
    const counted = await run(['check'], envOf(config));
    expect(counted).toMatchObject({ accepted: 7, rejected: 1 });
    expect(counted.cost).toEqual(counts);

    const env = { ...envOf(config), RATE_CARD_FILE: tempFile(CARD, 'rates.csv') };
    const now = await run(['check'], env);
    expect(now.cost).toMatchObject({
      ...counts,
      estimate: {
        total: { USD: 0.214 },
        unpriced: { messages: 1, by: [{ country: 'BR', category: 'unknown', messages: 1 }] },
      },
    });
    expect((now.cost.estimate as { lines: unknown[] }).lines).toEqual(
      expect.arrayContaining([
        { country: 'GB', category: 'marketing', messages: 3, market: 'GB', price: 0.05, currency: 'USD', cost: 0.15 },
        {
          country: 'BR',
          category: 'marketing',
          messages: 1,
          market: 'default',
          price: 0.06,
          currency: 'USD',
          cost: 0.06,
        },
        {
          country: 'US',
          category: 'authentication',
          messages: 1,
          market: 'US',
          price: 0.004,
          currency: 'USD',
          cost: 0.004,
        },
      ]),
    );
    // A campaign scheduled after the GB rate changes is priced at the new one; enqueue --dry-run says the same.
    const later = await run(['enqueue', '--dry-run', '--at', '2030-01-02T00:00:00Z'], env);
    expect(later.cost).toMatchObject({ estimate: { at: '2030-01-02T00:00:00.000Z', total: { USD: 0.274 } } });
    // Nothing written by either.
    expect(await h.redis.exists(h.keys.campaign('priced'))).toBe(0);

    const text = await runCli(['check', tempFile(jsonl(CAMPAIGN)), '--campaign', 'priced'], env);
    expect(text.stdout).toContain(
      'template messages: 6 (BR marketing 1, BR unknown 1, GB marketing 3, US authentication 1)',
    );
    expect(text.stdout).toMatch(/estimated cost at \S+: 0\.214 USD \(1 unpriced: no rate/);

    const bad = await runCli(['check', tempFile(jsonl(CAMPAIGN)), '--campaign', 'priced'], {
      ...env,
      RATE_CARD_FILE: tempFile(
        'market,category,price,currency,effective_date\nGB,marketing,free,USD,2025-07-01\n',
        'bad.csv',
      ),
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/RATE_CARD_FILE \S+bad\.csv line 2: price: expected a number >= 0, got "free"/);
  });
});
