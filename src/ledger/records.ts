import { SKIP_REASONS, type SkipReason, type DeadReason } from './reasons.js';
import type { Priority } from '../campaigns/options.js';
import { PACE_MS } from '../scripts/settle-messages.js';
import { funnel, type DeliveryStatus } from './delivery.js';
import { costOf, type CampaignCost } from './campaign-cost.js';

/**
 * The shapes the ledger reads its records into: a message (the `result` / `export` line) and a campaign (its
 * counters, state and settings), from the hashes src/scripts/includes/message-record.lua and the scripts write.
 * The message record's fields are known here only in TypeScript: read from Redis (toRecord), written to the
 * long-term ledger's row and read back from it (rows.ts). `args` (the custom_args as JSON, without
 * wa-bulk's own) is written by the enqueue script; two fields are written from TypeScript alone: `trace`
 * (Ledger.noteTraces) and `replied_at` (epoch ms, the first answer: Ledger.noteReply). The long-term ledger's
 * row keeps the custom_args and the reply's time, not the trace.
 */

export type MessageStatus = 'pending' | 'sent' | 'dead' | 'skipped';

/** The `result` / `export` JSON shape (docs/cli.md): fields may be added, these do not change. */
export interface MessageRecord {
  request_id: string;
  campaign: string;
  to: string;
  status: MessageStatus;
  message_id: string | null;
  /** Why it died, or why it was skipped (code and http_status null then). */
  error: { code: number | null; http_status: number | null; reason: DeadReason | SkipReason; message: string } | null;
  attempts: number;
  updated_at: string;
  /** From EngageLab's status callbacks; null until the first one. `at` is null when its stored time is not one. */
  delivery: { status: DeliveryStatus; at: string | null; error_code: number | null } | null;
  /** The custom_args it was enqueued with (without wa-bulk's own); absent when it had none. */
  custom_args?: Record<string, unknown>;
  /** When the recipient first answered it (an inbound message quoting it); absent until then. */
  replied_at?: string;
}

export interface CampaignCounts {
  id: string;
  total: number;
  sent: number;
  dead: number;
  /** Never sent on purpose (no session, cancelled, expired, suppressed). */
  skipped: number;
  /** `skipped` by reason: every reason, 0 when none. */
  skipped_by: Record<SkipReason, number> & Record<string, number>;
  pending: number;
  /** Lines refused at enqueue, over every enqueue of the campaign; null once only PostgreSQL holds it. */
  rejected: number | null;
  /**
   * The delivery funnel from callbacks: each sent message counted at its furthest state, so `delivered`
   * includes `read` (a message read was delivered).
   */
  delivery: { sent: number; delivered: number; read: number; failed: number };
  /** Failed deliveries by error code ("none": reported without one). */
  delivery_failed_by_code: Record<string, number>;
  /** When its first request was settled (sent or dead); null before. */
  started_at: string | null;
  /** When its last message was settled, once none is pending; else null. */
  finished_at: string | null;
  /**
   * Messages sent or dead-lettered per second: over about the last minute while some are pending, over its
   * whole run once none is; null before the first.
   */
  rate: number | null;
  /** When nothing will be pending at that rate, while the campaign sends; else null. */
  eta: string | null;
  state: CampaignState;
  pause_reason: string | null;
  /** Campaign control: ISO times, the recipient-local window, the priority. */
  at: string | null;
  send_window: string | null;
  expires_at: string | null;
  priority: Priority;
  /** Dead letters by EngageLab code ("none": a timeout or a lost connection). */
  dead_by_code: Record<string, number>;
  /** Present (true) when Redis no longer holds the campaign and these counts come from PostgreSQL. */
  archived?: true;
  /**
   * Its template messages by country and category, their estimate, and the messages billable so far (./campaign-cost.ts);
   * absent when it has none.
   */
  cost?: CampaignCost;
}

export type CampaignState = 'scheduled' | 'sending' | 'paused' | 'done' | 'cancelled';

/** A number field of a record, null when absent or not a number. */
export const int = (value: string | undefined): number | null =>
  value === undefined || value === '' || Number.isNaN(Number(value)) ? null : Number(value);
export const text = (value: string | undefined) => (value === undefined || value === '' ? null : value);
/**
 * An epoch-ms field as ISO 8601; null when absent or not a time a Date can hold (a value such as 1e23 stored by
 * an older version from a callback), so that no stored value can make a reader throw.
 */
export const isoOf = (ms: string | undefined): string | null => {
  if (!ms) return null;
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

/** The counters of a hash whose field starts with `prefix`, by the rest of the field, those above 0. */
function byPrefix(hash: Record<string, string>, prefix: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(hash)
      .filter(([field, n]) => field.startsWith(prefix) && Number(n) > 0)
      .map(([field, n]) => [field.slice(prefix.length), Number(n)]),
  );
}

/**
 * Requests settled per second. While messages are pending: from the pace settle-messages.lua keeps (a count
 * that decays by e every PACE_MS), as it is now, over the part of PACE_MS the campaign has had to fill it.
 * Once none is: over the campaign's run, first to last.
 */
function rateOf(hash: Record<string, string>, requests: number, pending: number, now: number): number | null {
  const started = Number(hash.started_at);
  if (!started) return null;
  if (pending === 0) return requests / (Math.max(1000, Number(hash.last_at ?? started) - started) / 1000);
  // The long-term ledger keeps no pace.
  if (!hash.pace_at) return null;
  const pace = Number(hash.pace ?? 0) * Math.exp(-Math.max(0, now - Number(hash.pace_at ?? now)) / PACE_MS);
  const filled = PACE_MS * (1 - Math.exp(-Math.max(1000, now - started) / PACE_MS));
  return pace / (filled / 1000);
}

export function toRecord(requestId: string, hash: Record<string, string>): MessageRecord {
  const status = (hash.status ?? 'pending') as MessageStatus;
  return {
    request_id: requestId,
    campaign: hash.campaign ?? '',
    to: hash.to ?? '',
    status,
    message_id: hash.message_id ?? null,
    error:
      status === 'dead' || status === 'skipped'
        ? {
            code: int(hash.code),
            http_status: int(hash.http_status),
            reason: (hash.reason ?? 'permanent') as DeadReason | SkipReason,
            message: hash.error ?? '',
          }
        : null,
    attempts: Number(hash.attempts ?? 0),
    updated_at: isoOf(hash.updated_at) ?? isoOf(hash.created_at) ?? new Date(0).toISOString(),
    delivery: hash.delivery_status
      ? {
          status: hash.delivery_status as DeliveryStatus,
          at: isoOf(hash.delivery_at),
          error_code: int(hash.delivery_error_code),
        }
      : null,
    ...argsOf(hash.args),
    ...(isoOf(hash.replied_at) !== null && { replied_at: isoOf(hash.replied_at) as string }),
  };
}

/**
 * The `args` field (written by the enqueue script) as custom_args; nothing when absent
 * or not a JSON object, so that no stored value can make a reader throw.
 */
export function argsOf(json: string | undefined): { custom_args?: Record<string, unknown> } {
  if (!json) return {};
  try {
    const value: unknown = JSON.parse(json);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? { custom_args: value as Record<string, unknown> }
      : {};
  } catch {
    return {};
  }
}

/** A campaign's hash as the `status --json` campaign object; undefined when it holds no message. */
export function toCampaign(id: string, hash: Record<string, string>, now = Date.now()): CampaignCounts | undefined {
  if (!hash.total) return undefined;
  const total = Number(hash.total);
  const sent = Number(hash.sent ?? 0);
  const dead = Number(hash.dead ?? 0);
  const skipped = Number(hash.skipped ?? 0);
  const pending = total - sent - dead - skipped;
  const at = hash.at ? Number(hash.at) : null;
  const state: CampaignState =
    hash.state === 'cancelled'
      ? 'cancelled'
      : pending === 0
        ? 'done'
        : hash.state === 'paused'
          ? 'paused'
          : at !== null && at > now && sent + dead + skipped === 0
            ? 'scheduled'
            : 'sending';
  const measured = rateOf(hash, sent + dead, pending, now);
  const cost = costOf(hash);
  const rate = measured === null ? null : Math.round(measured * 100) / 100;
  return {
    id,
    total,
    sent,
    dead,
    skipped,
    skipped_by: {
      ...Object.fromEntries(SKIP_REASONS.map((reason) => [reason, 0])),
      ...byPrefix(hash, 'skipped:'),
    } as CampaignCounts['skipped_by'],
    pending,
    rejected: Number(hash.rejected ?? 0),
    delivery: funnel(hash, sent),
    delivery_failed_by_code: byPrefix(hash, 'delivery_code:'),
    state,
    pause_reason: hash.state === 'paused' ? (hash.pause_reason ?? null) : null,
    at: isoOf(hash.at),
    send_window: hash.send_window ?? null,
    expires_at: isoOf(hash.expires_at),
    priority: (hash.priority as Priority | undefined) ?? 'normal',
    dead_by_code: byPrefix(hash, 'dead_code:'),
    started_at: isoOf(hash.started_at),
    finished_at: pending === 0 ? isoOf(hash.last_at) : null,
    rate,
    eta: state === 'sending' && rate ? new Date(now + (pending / rate) * 1000).toISOString() : null,
    ...(cost && { cost }),
  };
}
