import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { countryOf } from '../messages/phone.js';
import { UsageError } from '../usage-error.js';

/**
 * What a campaign's template messages will cost (docs/campaigns.md#cost-estimate): Meta bills a delivered
 * template message by the recipient's country and the template's category. `check` and `enqueue --dry-run`
 * count the messages they would enqueue by both, and with a rate card (RATE_CARD_FILE) price them at the rates
 * in effect at the campaign's time. An estimate: messages that are never delivered are not billed.
 */

export const CATEGORIES = ['marketing', 'utility', 'authentication', 'service'] as const;

export interface Rate {
  /** ISO 3166-1 alpha-2, or `default` for every market the card does not name. */
  market: string;
  category: string;
  price: number;
  currency: string;
  /** Epoch ms, 00:00 UTC of its date. */
  effective: number;
}

export interface CostEstimate {
  /** The time the rates are read at: the campaign's --at, else now (ISO 8601). */
  at: string;
  /**
   * The template messages it covers, priced or not. On a campaign, fewer than its `templates.messages` when a
   * later enqueue had no rate card to estimate again with.
   */
  messages: number;
  /** Cost by currency, rounded to 6 decimals. */
  total: Record<string, number>;
  lines: Array<{
    country: string;
    category: string;
    messages: number;
    market: string;
    price: number;
    currency: string;
    cost: number;
  }>;
  /** Messages no rate applies to (no row of their market or `default`, or none effective yet). */
  unpriced: { messages: number; by: Array<{ country: string; category: string; messages: number }> };
}

export interface CostSummary {
  /** Template messages counted (each recipient of each message the run would enqueue). */
  messages: number;
  by_country: Record<string, Record<string, number>>;
  by_category: Record<string, number>;
  /** With RATE_CARD_FILE only. */
  estimate?: CostEstimate;
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** Template messages by recipient country and template category, as a run accepts them. */
export class CostTally {
  private readonly counts = new Map<string, Map<string, number>>();

  /** One template message to `to` (digits) of a template of `category` (EngageLab's, any case; undefined: unknown). */
  add(to: string, category: string | undefined): void {
    const country = countryOf(to);
    const cat = category ? category.toLowerCase() : 'unknown';
    const byCategory = this.counts.get(country) ?? new Map<string, number>();
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + 1);
    this.counts.set(country, byCategory);
  }

  /** The counts as '<country>:<category>' → n (the campaign hash's cost fields, src/ledger/campaign-cost.ts). */
  fields(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [country, cats] of this.counts) for (const [cat, n] of cats) out.set(`${country}:${cat}`, n);
    return out;
  }

  summary(card: Rate[] | undefined, at: number): CostSummary {
    const byCountry: Record<string, Record<string, number>> = {};
    const byCategory: Record<string, number> = {};
    let messages = 0;
    for (const country of [...this.counts.keys()].sort()) {
      const cats = this.counts.get(country) as Map<string, number>;
      byCountry[country] = Object.fromEntries([...cats].sort(([a], [b]) => a.localeCompare(b)));
      for (const [cat, n] of cats) {
        byCategory[cat] = (byCategory[cat] ?? 0) + n;
        messages += n;
      }
    }
    return {
      messages,
      by_country: byCountry,
      by_category: byCategory,
      ...(card && { estimate: estimate(byCountry, card, at) }),
    };
  }
}

/** The rate of a market and category in effect at `at`: the row of the latest effective date not after it. */
function rateAt(card: Rate[], market: string, category: string, at: number): Rate | undefined {
  let best: Rate | undefined;
  for (const r of card)
    if (r.market === market && r.category === category && r.effective <= at && (!best || r.effective > best.effective))
      best = r;
  return best;
}

export function estimate(byCountry: Record<string, Record<string, number>>, card: Rate[], at: number): CostEstimate {
  const result: CostEstimate = {
    at: new Date(at).toISOString(),
    messages: 0,
    total: {},
    lines: [],
    unpriced: { messages: 0, by: [] },
  };
  for (const [country, cats] of Object.entries(byCountry))
    for (const [category, messages] of Object.entries(cats)) {
      result.messages += messages;
      const rate = rateAt(card, country, category, at) ?? rateAt(card, 'default', category, at);
      if (!rate) {
        result.unpriced.messages += messages;
        result.unpriced.by.push({ country, category, messages });
        continue;
      }
      const cost = round(rate.price * messages);
      result.lines.push({
        country,
        category,
        messages,
        market: rate.market,
        price: rate.price,
        currency: rate.currency,
        cost,
      });
      result.total[rate.currency] = round((result.total[rate.currency] ?? 0) + cost);
    }
  return result;
}

const COLUMNS = ['market', 'category', 'price', 'currency', 'effective_date'] as const;

/**
 * A rate card: CSV with the header `market,category,price,currency,effective_date` (examples/rate-card.csv).
 * Every row checked; the first bad one stops the run with its file, line and column named, so that an
 * estimate is never made from part of a card.
 */
export function parseRateCard(text: string, file: string): Rate[] {
  let rows: string[][];
  try {
    rows = parse(text, {
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
      comment: '#',
      comment_no_infix: true,
    }) as string[][];
  } catch (error) {
    throw new UsageError(`RATE_CARD_FILE ${file}: not CSV (${(error as Error).message})`);
  }
  const header = rows[0]?.map((c) => c.toLowerCase());
  if (!header || header.join(',') !== COLUMNS.join(','))
    throw new UsageError(`RATE_CARD_FILE ${file}: the header must be "${COLUMNS.join(',')}"`);
  const rates: Rate[] = [];
  const seen = new Set<string>();
  rows.slice(1).forEach((row, i) => {
    const where = `RATE_CARD_FILE ${file} line ${i + 2}`;
    if (row.length !== COLUMNS.length)
      throw new UsageError(`${where}: expected ${COLUMNS.length} fields, got ${row.length}`);
    const [market, category, price, currency, date] = row as [string, string, string, string, string];
    const m = market === 'default' ? market : market.toUpperCase();
    if (m !== 'default' && !/^[A-Z]{2}$/.test(m))
      throw new UsageError(
        `${where}: market: expected a two-letter country code (ISO 3166-1) or "default", got "${market}"`,
      );
    const cat = category.toLowerCase();
    if (!(CATEGORIES as readonly string[]).includes(cat))
      throw new UsageError(`${where}: category: expected ${CATEGORIES.join(', ')}, got "${category}"`);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(price))
      throw new UsageError(`${where}: price: expected a number >= 0, got "${price}"`);
    if (!/^[A-Za-z]{3}$/.test(currency))
      throw new UsageError(`${where}: currency: expected a three-letter code (ISO 4217), got "${currency}"`);
    const effective = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(effective) || new Date(effective).toISOString().slice(0, 10) !== date)
      throw new UsageError(`${where}: effective_date: expected a date YYYY-MM-DD, got "${date}"`);
    const key = `${m}|${cat}|${date}`;
    if (seen.has(key)) throw new UsageError(`${where}: a second rate for ${m} ${cat} from ${date}`);
    seen.add(key);
    rates.push({ market: m, category: cat, price: Number(price), currency: currency.toUpperCase(), effective });
  });
  return rates;
}

export function readRateCard(file: string): Rate[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `RATE_CARD_FILE ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  return parseRateCard(text, file);
}
