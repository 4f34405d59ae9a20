import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { CostTally, estimate, parseRateCard } from '../../src/preflight/cost.js';

/** The rate card's format, checked row by row, and the rate an estimate picks: by market, date and fallback. */

const HEADER = 'market,category,price,currency,effective_date';
const card = (...rows: string[]) => parseRateCard([HEADER, ...rows].join('\n'), 'card.csv');
const at = (date: string) => Date.parse(date);

describe('a rate card', () => {
  it('reads the example file', () => {
    const rates = parseRateCard(readFileSync('examples/rate-card.csv', 'utf8'), 'examples/rate-card.csv');
    expect(rates).toContainEqual({
      market: 'GB',
      category: 'utility',
      price: 0.022,
      currency: 'USD',
      effective: at('2026-10-01T00:00:00Z'),
    });
    expect(
      rates
        .filter((r) => r.market === 'default')
        .map((r) => r.category)
        .sort(),
    ).toEqual(['authentication', 'marketing', 'utility']);
  });

  it('refuses a bad row, naming its line and field', () => {
    const cases: Array<[string[], string]> = [
      [['GBR,marketing,0.05,USD,2025-07-01'], 'line 2: market: expected a two-letter country code'],
      [
        ['GB,promo,0.05,USD,2025-07-01'],
        'line 2: category: expected marketing, utility, authentication, service, got "promo"',
      ],
      [['GB,marketing,-1,USD,2025-07-01'], 'line 2: price: expected a number >= 0, got "-1"'],
      [['GB,marketing,0.05,dollars,2025-07-01'], 'line 2: currency: expected a three-letter code'],
      [['GB,marketing,0.05,USD,2025-02-30'], 'line 2: effective_date: expected a date YYYY-MM-DD, got "2025-02-30"'],
      [['GB,marketing,0.05,USD'], 'line 2: expected 5 fields, got 4'],
      [
        ['GB,marketing,0.05,USD,2025-07-01', 'gb,Marketing,0.06,USD,2025-07-01'],
        'line 3: a second rate for GB marketing from 2025-07-01',
      ],
    ];
    for (const [rows, error] of cases) expect(() => card(...rows)).toThrow(`RATE_CARD_FILE card.csv ${error}`);
    expect(() => parseRateCard('country,price\nGB,1', 'card.csv')).toThrow(`the header must be "${HEADER}"`);
  });
});

describe('an estimate', () => {
  const rates = card(
    'GB,marketing,0.05,USD,2025-07-01',
    'GB,marketing,0.07,USD,2026-10-01',
    'default,marketing,0.06,USD,2025-07-01',
    'IN,utility,0.30,INR,2025-07-01',
  );

  it('uses the rate in effect at the campaign time, the default row for other markets, and leaves the rest unpriced', () => {
    const counts = {
      GB: { marketing: 10 },
      BR: { marketing: 2, utility: 3 },
      IN: { utility: 4 },
      unknown: { unknown: 1 },
    };
    const before = estimate(counts, rates, at('2026-09-30T23:59:59Z'));
    expect(before.total).toEqual({ USD: 0.62, INR: 1.2 });
    expect(before.lines).toContainEqual({
      country: 'BR',
      category: 'marketing',
      messages: 2,
      market: 'default',
      price: 0.06,
      currency: 'USD',
      cost: 0.12,
    });
    expect(before.unpriced).toEqual({
      messages: 4,
      by: [
        { country: 'BR', category: 'utility', messages: 3 },
        { country: 'unknown', category: 'unknown', messages: 1 },
      ],
    });
    expect(estimate(counts, rates, at('2026-10-01T00:00:00Z')).total).toEqual({ USD: 0.82, INR: 1.2 });
    // Before any rate is in effect, nothing is priced.
    expect(estimate(counts, rates, at('2025-01-01T00:00:00Z'))).toMatchObject({
      total: {},
      unpriced: { messages: 20 },
    });
  });

  it('counts messages by the country of the number and the category, any case', () => {
    const tally = new CostTally();
    tally.add('447911123456', 'MARKETING');
    tally.add('447911123457', 'marketing');
    tally.add('12025550123', 'UTILITY');
    tally.add('5511912345678', undefined);
    expect(tally.summary(undefined, 0)).toEqual({
      messages: 4,
      by_country: { BR: { unknown: 1 }, GB: { marketing: 2 }, US: { utility: 1 } },
      by_category: { marketing: 2, utility: 1, unknown: 1 },
    });
  });
});
