import { plausibleItime } from '../engagelab/callback-rows.js';
import type { CallbackRow } from '../engagelab/callbacks.js';
import { countryOf } from '../messages/phone.js';

/**
 * A message's delivery only moves forward: sent (1) → failed (2) → delivered (3) → read (4), decided by the
 * ledger's apply-delivery script with DELIVERY_RANK. A failure report cannot undo proof of delivery, and a
 * later "delivered" or "read" overrides an earlier failure, because the recipient's phone confirmed it. Rows
 * that say nothing about delivery (plan, target_valid, delivered_timeout) change nothing.
 */

export type DeliveryStatus = 'sent' | 'failed' | 'delivered' | 'read';
export const DELIVERY_RANK: Readonly<Record<DeliveryStatus, number>> = Object.freeze({
  sent: 1,
  failed: 2,
  delivered: 3,
  read: 4,
});

const STATUS_OF: Record<string, DeliveryStatus> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  sent_failed: 'failed',
  delivered_failed: 'failed',
  target_invalid: 'failed',
};

export interface DeliveryUpdate {
  status: DeliveryStatus;
  /** Epoch milliseconds. */
  at: number;
  errorCode: number | null;
  error: string | null;
  lossStep: number | null;
  lossSource: string | null;
  /**
   * Set when the row's pricing says the message is billable: its category (marketing, utility, …) and the
   * recipient's country (ISO 3166-1 alpha-2, or `unknown`); the campaign counts each message once.
   */
  billable?: { category: string; country: string } | null;
}

/** What a record keeps of EngageLab's error message, and of its loss source (`engagelab` or `meta`). */
const ERROR_CHARS = 500;
const LOSS_SOURCE_CHARS = 32;

/** Pricing words as counter names: a category or country of another shape is not one Meta uses. */
const CATEGORY = /^[a-z_]{1,32}$/;
const COUNTRY = /^[A-Z]{2}$/;

/**
 * A row's billable pricing, or null: Meta marks a free message `billable: false` or with a `free_…` type (a
 * reply in an open session, an entry point). The country is the row's `country_code` when it is a country,
 * else the recipient's number's.
 */
function billableOf(row: CallbackRow): DeliveryUpdate['billable'] {
  const data = row.status?.status_data;
  const pricing = data?.pricing;
  const category = pricing?.category?.toLowerCase();
  if (!category || !CATEGORY.test(category) || pricing?.billable === false || pricing?.type?.startsWith('free'))
    return null;
  const code = data?.country_code?.toUpperCase();
  const to = typeof row.to === 'number' ? String(row.to) : (row.to ?? '');
  const country =
    code && COUNTRY.test(code) ? code : /^\+?[0-9]{6,}$/.test(to) ? countryOf(to.replace('+', '')) : 'unknown';
  return { category, country };
}

/** A whole number from a row (a code, a step), or null when it is none (1e400, "abc", 1.5). */
const toInteger = (value: unknown): number | null => {
  if (value === undefined || value === null || value === '') return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : null;
};

/**
 * The delivery a status row reports, or undefined when it reports none. Its time is the row's itime when that
 * is plausible (the receiver sees to it, src/engagelab/callback-rows.ts), else `nowMs`; its texts are bounded.
 */
export function deliveryOf(row: CallbackRow, nowMs = Date.now()): DeliveryUpdate | undefined {
  if (!row.status) return undefined;
  const status = Object.hasOwn(STATUS_OF, row.status.message_status) ? STATUS_OF[row.status.message_status] : undefined;
  if (!status) return undefined;
  const itime = plausibleItime(row.itime, nowMs);
  const failed = status === 'failed';
  const billable = billableOf(row);
  return {
    status,
    at: itime !== undefined ? Math.round(itime * 1000) : nowMs,
    errorCode: failed ? toInteger(row.status.error_code) : null,
    error: failed ? (row.status.error_detail?.message?.slice(0, ERROR_CHARS) ?? null) : null,
    lossStep: failed ? toInteger(row.status.loss?.loss_step) : null,
    lossSource: failed ? (row.status.loss?.loss_source?.slice(0, LOSS_SOURCE_CHARS) ?? null) : null,
    ...(billable && { billable }),
  };
}

/** The funnel of a campaign from its counters: each message counted once, at its furthest state. */
export function funnel(hash: Record<string, string>, sent: number) {
  const n = (field: string) => Number(hash[`delivery:${field}`] ?? 0);
  return { sent, delivered: n('delivered') + n('read'), read: n('read'), failed: n('failed') };
}
