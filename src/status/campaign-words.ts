import type { CampaignCounts } from '../ledger/records.js';
import type { CampaignWithRest } from './resting.js';

/**
 * A campaign's figures in words, as `status` prints them and the campaigns page shows them, so that both say
 * the same: durations, times to the second, its timing line, and breakdowns by code or reason.
 */

/** A span of time in words: `under a second`, `42 s`, `4 min 12 s`, `3 h 5 min`, `2 d 1 h`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'under a second';
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** An ISO time to the second, for people: `2026-05-01 14:03:12Z`. */
export const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/**
 * A campaign's timing in words, for `status` and the campaigns page: when it starts or started, when it
 * finished and how long it took (or how long it has run), its rate, and its ETA while it sends.
 */
export function campaignTiming(c: CampaignWithRest, now = Date.now()): string[] {
  const started = c.started_at ? Date.parse(c.started_at) : undefined;
  const finished = c.finished_at ? Date.parse(c.finished_at) : undefined;
  const parts: string[] = [];
  if (c.state === 'scheduled' && c.at) parts.push(`starts ${shortTime(c.at)}`);
  if (c.started_at) parts.push(`started ${shortTime(c.started_at)}`);
  if (c.finished_at) parts.push(`finished ${shortTime(c.finished_at)}`);
  if (started !== undefined)
    parts.push(finished ? `took ${duration(finished - started)}` : `running ${duration(now - started)}`);
  if (c.rate !== null) parts.push(`rate ${c.rate.toLocaleString('en-US')}/s${finished ? ' on average' : ''}`);
  if (c.eta) parts.push(`ETA ${shortTime(c.eta)} (in ${duration(Date.parse(c.eta) - now)})`);
  // Its rate would promise sooner: say what it waits for (src/status/resting.ts).
  if (c.resting)
    parts.push(
      `${c.resting.partial ? 'at least ' : ''}${c.resting.messages.toLocaleString('en-US')} waiting out their recipients' marketing rest until ${shortTime(c.resting.until)}`,
    );
  return parts;
}

/** The non-zero counts of a breakdown in words: `131026 × 4, 131049 × 2`; '' for none. */
export function breakdown(counts: Record<string, number>, sign = ' × '): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([key, n]) => `${key}${sign}${n.toLocaleString('en-US')}`)
    .join(', ');
}

/**
 * A campaign's cost in words, for `status` and the campaigns page: its template messages, their estimate (with
 * a rate card) and the billable ones so far; with `byCategory`, each count by category.
 */
export function costWords(cost: NonNullable<CampaignCounts['cost']>, byCategory = false): string[] {
  const counts = (c: { messages: number; by_category: Record<string, number> }) =>
    `${c.messages.toLocaleString('en-US')}${byCategory && c.messages > 0 ? ` (${breakdown(c.by_category, ' ')})` : ''}`;
  const e = cost.estimate;
  const totals = e ? Object.entries(e.total).map(([currency, amount]) => `${amount} ${currency}`) : [];
  const unpriced = e && e.unpriced.messages > 0 ? ` (${e.unpriced.messages.toLocaleString('en-US')} unpriced)` : '';
  // An enqueue without a rate card since the estimate was made: say what it leaves out rather than look complete.
  const partial =
    e && e.messages < cost.templates.messages
      ? ` for ${e.messages.toLocaleString('en-US')} of them (a later enqueue had no rate card)`
      : '';
  return [
    `template messages ${counts(cost.templates)}`,
    ...(e ? [`estimate ${totals.join(' + ') || 'nothing priced'}${partial}${byCategory ? unpriced : ''}`] : []),
    `billable so far ${counts(cost.billable)}`,
  ];
}
