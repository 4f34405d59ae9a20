import type { CallbackRow } from '../engagelab/callbacks.js';

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
}

const toNumber = (value: unknown): number | null =>
  value === undefined || value === null || value === '' || Number.isNaN(Number(value)) ? null : Number(value);

/** The delivery a status row reports, or undefined when it reports none. */
export function deliveryOf(row: CallbackRow, nowMs = Date.now()): DeliveryUpdate | undefined {
  if (!row.status) return undefined;
  const status = STATUS_OF[row.status.message_status];
  if (!status) return undefined;
  const errorCode = toNumber(row.status.error_code);
  return {
    status,
    at: row.itime !== undefined ? row.itime * 1000 : nowMs,
    errorCode: status === 'failed' ? errorCode : null,
    error: status === 'failed' ? (row.status.error_detail?.message ?? null) : null,
    lossStep: status === 'failed' ? toNumber(row.status.loss?.loss_step) : null,
    lossSource: status === 'failed' ? (row.status.loss?.loss_source ?? null) : null,
  };
}

/** The funnel of a campaign from its counters: each message counted once, at its furthest state. */
export function funnel(hash: Record<string, string>, sent: number) {
  const n = (field: string) => Number(hash[`delivery:${field}`] ?? 0);
  return { sent, delivered: n('delivered') + n('read'), read: n('read'), failed: n('failed') };
}
