import { DEAD_REASONS, SKIP_REASONS } from './reasons.js';
import type { MessageRecord, MessageStatus } from './records.js';
import { UsageError } from '../usage-error.js';

/**
 * Which of a campaign's messages an export or GET /api/campaigns/:id/messages keeps, by outcome
 * (docs/campaigns.md#outcome-filters). Each kind of filter given must match; the values of one kind are
 * alternatives. Checked where they enter: a bad value is a UsageError naming the flag or query field.
 */

export const STATUSES = ['pending', 'sent', 'dead', 'skipped'] as const;
export const DELIVERY_STATES = ['failed', 'not_delivered', 'not_read', 'replied'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
export const REASONS = [...DEAD_REASONS, ...SKIP_REASONS] as const;

export interface OutcomeFilter {
  status?: ReadonlySet<MessageStatus>;
  reason?: ReadonlySet<string>;
  code?: ReadonlySet<number>;
  delivery?: ReadonlySet<DeliveryState>;
}

/**
 * Whether a message is in a delivery state:
 *   failed         a status callback reported its delivery failed (and none that it was delivered or read)
 *   not_delivered  sent, and no callback reported it delivered or read (failed ones and silent ones)
 *   not_read       sent, not failed, and no callback reported it read (delivered, or no report past "sent")
 *   replied        the recipient answered it (an inbound message quoting it)
 */
export function inDeliveryState(r: MessageRecord, state: DeliveryState): boolean {
  const reported = r.delivery?.status;
  switch (state) {
    case 'failed':
      return reported === 'failed';
    case 'not_delivered':
      return r.status === 'sent' && reported !== 'delivered' && reported !== 'read';
    case 'not_read':
      return r.status === 'sent' && reported !== 'failed' && reported !== 'read';
    case 'replied':
      return r.replied_at !== undefined;
  }
}

export function matches(r: MessageRecord, filter: OutcomeFilter): boolean {
  if (filter.status && !filter.status.has(r.status)) return false;
  if (filter.reason && !(r.error && filter.reason.has(r.error.reason))) return false;
  if (filter.code) {
    const codes = [r.error?.code, r.delivery?.error_code];
    if (!codes.some((c) => c !== null && c !== undefined && filter.code?.has(c))) return false;
  }
  if (filter.delivery && ![...filter.delivery].some((state) => inDeliveryState(r, state))) return false;
  return true;
}

/** Whether a filter keeps every message (none given). */
export const keepsAll = (filter: OutcomeFilter) => Object.values(filter).every((v) => v === undefined);

/** The values of a flag or query field: a comma list, or a repeated flag (an array); empty ones dropped. */
function valuesOf(raw: unknown, where: string): string[] {
  const parts = (Array.isArray(raw) ? raw : [raw]).map((v) => {
    if (typeof v !== 'string') throw new UsageError(`${where}: expected text, got ${JSON.stringify(v)}`);
    return v;
  });
  const values = parts
    .flatMap((p) => p.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
  if (values.length === 0) throw new UsageError(`${where}: expected a value`);
  return values;
}

function oneOf<T extends string>(raw: unknown, choices: readonly T[], where: string): Set<T> {
  return new Set(
    valuesOf(raw, where).map((v) => {
      if (!(choices as readonly string[]).includes(v))
        throw new UsageError(`${where}: expected ${choices.join(', ')}; got "${v}"`);
      return v as T;
    }),
  );
}

/**
 * The filter from its raw values (CLI flags or query fields, by name: status, reason, code, delivery); `label`
 * names a field in an error, e.g. `--status` or `query status`.
 */
export function outcomeFilterOf(
  raw: { status?: unknown; reason?: unknown; code?: unknown; delivery?: unknown },
  label: (field: string) => string,
): OutcomeFilter {
  const filter: OutcomeFilter = {};
  if (raw.status !== undefined) filter.status = oneOf(raw.status, STATUSES, label('status'));
  if (raw.reason !== undefined) filter.reason = oneOf(raw.reason, REASONS, label('reason'));
  if (raw.code !== undefined)
    filter.code = new Set(
      valuesOf(raw.code, label('code')).map((v) => {
        if (!/^-?[0-9]{1,9}$/.test(v))
          throw new UsageError(`${label('code')}: expected an error code (an integer), got "${v}"`);
        return Number(v);
      }),
    );
  if (raw.delivery !== undefined) filter.delivery = oneOf(raw.delivery, DELIVERY_STATES, label('delivery'));
  return filter;
}

/** The messages of `records` the filter keeps. */
export async function* filtered(
  records: AsyncIterable<MessageRecord>,
  filter: OutcomeFilter,
): AsyncGenerator<MessageRecord> {
  for await (const r of records) if (matches(r, filter)) yield r;
}

/**
 * A campaign's filtered export as an audience for `enqueue --format csv`: the header `to` and one
 * `arg_<name>` column per custom_args name any of them has (sorted), then a row per recipient: the first of
 * their messages in the export's order, as a follow-up sends each recipient once (a recipient with two
 * messages in the campaign would otherwise get two of the new one). No request_id: the new campaign gives each
 * its own. Two passes over `read`; memory holds the names and the recipients written.
 */
export async function* audienceLines(read: () => AsyncIterable<MessageRecord>): AsyncGenerator<string> {
  const names = new Set<string>();
  for await (const r of read()) for (const name of Object.keys(r.custom_args ?? {})) names.add(name);
  const columns = [...names].sort();
  yield ['to', ...columns.map((n) => `arg_${n}`)].map(csvCell).join(',');
  const written = new Set<string>();
  for await (const r of read()) {
    if (written.has(r.to)) continue;
    written.add(r.to);
    yield [r.to, ...columns.map((n) => argText(r.custom_args?.[n]))].map(csvCell).join(',');
  }
}

/** A custom_args value as a CSV cell: text as it is, anything else as JSON (the CSV reader reads text). */
const argText = (value: unknown) =>
  value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);

function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * A follow-up's `--where` (docs/campaigns.md#follow-ups): the export's filter words in one comma list, each
 * word sorted to its kind (a status, a delivery state, a reason, or an error code), then read by
 * outcomeFilterOf, so the words mean what export's flags mean: one kind's words are alternatives, and every
 * kind given must match (`sent,not_read`).
 */
export function whereFilter(raw: unknown, where: string): OutcomeFilter {
  const kinds: Record<'status' | 'reason' | 'code' | 'delivery', string[]> = {
    status: [],
    reason: [],
    code: [],
    delivery: [],
  };
  for (const word of valuesOf(raw, where)) {
    const kind = (STATUSES as readonly string[]).includes(word)
      ? 'status'
      : (DELIVERY_STATES as readonly string[]).includes(word)
        ? 'delivery'
        : (REASONS as readonly string[]).includes(word)
          ? 'reason'
          : /^-?[0-9]{1,9}$/.test(word)
            ? 'code'
            : undefined;
    if (kind === undefined)
      throw new UsageError(
        `${where}: expected outcome words: ${[...DELIVERY_STATES, ...STATUSES].join(', ')}, a reason (${REASONS.join(', ')}) or an error code; got "${word}"`,
      );
    kinds[kind].push(word);
  }
  const given = Object.fromEntries(Object.entries(kinds).filter(([, words]) => words.length > 0));
  return outcomeFilterOf(given, () => where);
}
