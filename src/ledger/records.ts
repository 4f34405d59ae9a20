import type { SkipReason, DeadReason } from './reasons.js';
import type { Priority } from '../campaigns/options.js';
import { DELIVERY_RANK, funnel, type DeliveryStatus } from './delivery.js';

/**
 * The shapes the ledger reads its records into: a message (the `result` / `export` line) and a campaign (its
 * counters, state and settings), from the hashes src/scripts/includes/message-record.lua and the scripts write.
 * The message record's fields are known here only in TypeScript: read from Redis (toRecord), written to the
 * long-term ledger's row (rowOf) and read back from it (recordOf).
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
}

export interface CampaignCounts {
  id: string;
  total: number;
  sent: number;
  dead: number;
  /** Never sent on purpose (no session, cancelled, expired, suppressed). */
  skipped: number;
  pending: number;
  /** The delivery funnel from callbacks: each sent message counted at its furthest state. */
  delivery: { sent: number; delivered: number; read: number; failed: number };
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
}

export type CampaignState = 'scheduled' | 'sending' | 'paused' | 'done' | 'cancelled';

/** A number field of a record, null when absent or not a number. */
const int = (value: string | undefined): number | null =>
  value === undefined || value === '' || Number.isNaN(Number(value)) ? null : Number(value);
const text = (value: string | undefined) => (value === undefined || value === '' ? null : value);
/**
 * An epoch-ms field as ISO 8601; null when absent or not a time a Date can hold (a value such as 1e23 stored by
 * an older version from a callback), so that no stored value can make a reader throw.
 */
export const isoOf = (ms: string | undefined): string | null => {
  if (!ms) return null;
  const date = new Date(Number(ms));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
};

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
  };
}

/** A campaign's hash as the `status --json` campaign object; undefined when it holds no message. */
export function toCampaign(id: string, hash: Record<string, string>): CampaignCounts | undefined {
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
          : at !== null && at > Date.now() && sent + dead + skipped === 0
            ? 'scheduled'
            : 'sending';
  return {
    id,
    total,
    sent,
    dead,
    skipped,
    pending,
    delivery: funnel(hash, sent),
    state,
    pause_reason: hash.state === 'paused' ? (hash.pause_reason ?? null) : null,
    at: isoOf(hash.at),
    send_window: hash.send_window ?? null,
    expires_at: isoOf(hash.expires_at),
    priority: (hash.priority as Priority | undefined) ?? 'normal',
    dead_by_code: Object.fromEntries(
      Object.entries(hash)
        .filter(([field, n]) => field.startsWith('dead_code:') && Number(n) > 0)
        .map(([field, n]) => [field.slice('dead_code:'.length), Number(n)]),
    ),
  };
}

/** A record snapshot as the Redis scripts append it to the archive stream: the message hash plus its request_id. */
export type Snapshot = Record<string, string> & { request_id: string };

/** A snapshot as its row of wa_bulk_messages (src/archive/migrations), column by column. */
export function rowOf(space: string, snapshot: Snapshot, rev: bigint) {
  const s = snapshot;
  const delivery = s.delivery_status as DeliveryStatus | undefined;
  return {
    space,
    request_id: s.request_id,
    campaign: s.campaign ?? '',
    recipient: s.to ?? '',
    seq: int(s.seq) ?? 0,
    status: s.status ?? 'pending',
    message_id: text(s.message_id),
    error_code: int(s.code),
    http_status: int(s.http_status),
    reason: text(s.reason),
    error: text(s.error),
    attempts: int(s.attempts) ?? 0,
    created_at: isoOf(s.created_at) ?? isoOf(s.updated_at) ?? new Date(0).toISOString(),
    updated_at: isoOf(s.updated_at) ?? isoOf(s.created_at) ?? new Date(0).toISOString(),
    delivery_status: text(delivery),
    delivery_rank: delivery ? (DELIVERY_RANK[delivery] ?? 0) : 0,
    delivery_at: isoOf(s.delivery_at),
    delivery_error_code: int(s.delivery_error_code),
    delivery_error: text(s.delivery_error),
    loss_step: text(s.loss_step),
    loss_source: text(s.loss_source),
    rev: rev.toString(),
  };
}
export type MessageRow = ReturnType<typeof rowOf>;

/** wa_bulk_messages's columns in the order the archive writes them (rowOf's), and their types. */
export const ROW_TYPES: Readonly<Record<keyof MessageRow, string>> = {
  space: 'text',
  request_id: 'text',
  campaign: 'text',
  recipient: 'text',
  seq: 'bigint',
  status: 'text',
  message_id: 'text',
  error_code: 'integer',
  http_status: 'integer',
  reason: 'text',
  error: 'text',
  attempts: 'integer',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  delivery_status: 'text',
  delivery_rank: 'smallint',
  delivery_at: 'timestamptz',
  delivery_error_code: 'integer',
  delivery_error: 'text',
  loss_step: 'text',
  loss_source: 'text',
  rev: 'bigint',
};

/** The columns of wa_bulk_messages that recordOf reads. */
export const RECORD_COLUMNS =
  'request_id, campaign, recipient, status, message_id, error_code, http_status, reason, error, attempts, updated_at, delivery_status, delivery_at, delivery_error_code, seq';

/** RECORD_COLUMNS of a row, as PostgreSQL returns them. */
export interface StoredRow {
  request_id: string;
  campaign: string;
  recipient: string;
  status: string;
  message_id: string | null;
  error_code: number | null;
  http_status: number | null;
  reason: string | null;
  error: string | null;
  attempts: number;
  updated_at: Date;
  delivery_status: string | null;
  delivery_at: Date | null;
  delivery_error_code: number | null;
  seq: string;
}

/** A row read back as the `result` / `export` line, through the same reader as a Redis record. */
export function recordOf(row: StoredRow): MessageRecord {
  const hash: Record<string, string> = {
    campaign: row.campaign,
    to: row.recipient,
    status: row.status,
    attempts: String(row.attempts),
    updated_at: String(row.updated_at.getTime()),
  };
  if (row.message_id) hash.message_id = row.message_id;
  if (row.error_code !== null) hash.code = String(row.error_code);
  if (row.http_status !== null) hash.http_status = String(row.http_status);
  if (row.reason) hash.reason = row.reason;
  if (row.error !== null) hash.error = row.error;
  if (row.delivery_status) {
    hash.delivery_status = row.delivery_status;
    hash.delivery_at = String(row.delivery_at?.getTime() ?? 0);
    if (row.delivery_error_code !== null) hash.delivery_error_code = String(row.delivery_error_code);
  }
  return toRecord(row.request_id, hash);
}
