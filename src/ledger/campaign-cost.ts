import type { CostEstimate } from '../preflight/cost.js';

/**
 * A campaign's cost as its hash keeps it (the ledger writes these fields; docs/campaigns.md#cost-on-the-campaign):
 *   templates:<country>:<category>  template messages enqueued, by recipient country and template category
 *   billable:<country>:<category>   messages a status callback's pricing called billable, each once
 *                                   (src/scripts/includes/delivery.lua)
 *   cost_estimate                   the estimate from RATE_CARD_FILE at the latest enqueue (JSON)
 */

export const TEMPLATES_PREFIX = 'templates:';
export const BILLABLE_PREFIX = 'billable:';
export const ESTIMATE_FIELD = 'cost_estimate';

/** Messages by recipient country (ISO 3166-1 alpha-2, or `unknown`) and category, and their sums. */
export interface CostCounts {
  messages: number;
  by_country: Record<string, Record<string, number>>;
  by_category: Record<string, number>;
}

export interface CampaignCost {
  /** Template messages enqueued. */
  templates: CostCounts;
  /** The estimate of `templates` at the rate card's prices when last enqueued; null without RATE_CARD_FILE. */
  estimate: CostEstimate | null;
  /** Messages billable so far, from the delivery callbacks' pricing. */
  billable: CostCounts;
}

/** A hash field's name for a country and category: both as the counters name them. */
export const costField = (prefix: string, country: string, category: string) => `${prefix}${country}:${category}`;

/** The counts of the fields `<prefix><country>:<category>` of a campaign's hash. */
export function countsOf(hash: Record<string, string>, prefix: string): CostCounts {
  const counts: CostCounts = { messages: 0, by_country: {}, by_category: {} };
  for (const field of Object.keys(hash).sort()) {
    if (!field.startsWith(prefix)) continue;
    const [country, category] = field.slice(prefix.length).split(':');
    const n = Number(hash[field]);
    if (!country || !category || !Number.isSafeInteger(n) || n <= 0) continue;
    counts.messages += n;
    (counts.by_country[country] ??= {})[category] = n;
    counts.by_category[category] = (counts.by_category[category] ?? 0) + n;
  }
  return counts;
}

/** The campaign's cost, or undefined when it has neither template messages nor billable ones. */
export function costOf(hash: Record<string, string>): CampaignCost | undefined {
  const templates = countsOf(hash, TEMPLATES_PREFIX);
  const billable = countsOf(hash, BILLABLE_PREFIX);
  if (templates.messages === 0 && billable.messages === 0) return undefined;
  let estimate: CostEstimate | null = null;
  try {
    estimate = hash[ESTIMATE_FIELD] ? (JSON.parse(hash[ESTIMATE_FIELD]) as CostEstimate) : null;
    // Kept before estimates said how many messages they cover: their lines and unpriced ones do.
    if (estimate && typeof estimate.messages !== 'number')
      estimate.messages = estimate.lines.reduce((n, line) => n + line.messages, estimate.unpriced.messages);
  } catch {
    // Written by the ledger alone: a field that is not JSON is not an estimate.
  }
  return { templates, estimate, billable };
}
