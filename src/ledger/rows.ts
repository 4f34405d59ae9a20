import { DELIVERY_RANK, type DeliveryStatus } from './delivery.js';
import { argsOf, int, isoOf, text, toRecord, type MessageRecord } from './records.js';

/**
 * A message record as its row of the long-term ledger (wa_bulk_messages, src/archive/migrations): written
 * from the change feed's snapshots (rowOf) and read back as the record `result` and `export` give (recordOf),
 * through the same reader as a Redis record (records.ts).
 */

/** A record snapshot as the Redis scripts append it to the archive stream: the message hash plus its request_id. */
export type Snapshot = Record<string, string> & { request_id: string };

/** A snapshot as its row of wa_bulk_messages (src/archive/migrations), column by column. */
export function rowOf(space: string, snapshot: Snapshot, rev: bigint) {
  const s = snapshot;
  const delivery = s.delivery_status as DeliveryStatus | undefined;
  const args = argsOf(s.args).custom_args;
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
    // Only a JSON object reaches the jsonb column: a stored value that is not one cannot fail the batch.
    custom_args: args === undefined ? null : JSON.stringify(args),
    replied_at: isoOf(s.replied_at),
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
  custom_args: 'jsonb',
  replied_at: 'timestamptz',
  rev: 'bigint',
};

/** The columns of wa_bulk_messages that recordOf reads. */
export const RECORD_COLUMNS =
  'request_id, campaign, recipient, status, message_id, error_code, http_status, reason, error, attempts, updated_at, delivery_status, delivery_at, delivery_error_code, seq, custom_args, replied_at';

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
  /** jsonb, parsed by the driver. */
  custom_args: Record<string, unknown> | null;
  replied_at: Date | null;
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
  if (row.custom_args) hash.args = JSON.stringify(row.custom_args);
  if (row.replied_at) hash.replied_at = String(row.replied_at.getTime());
  return toRecord(row.request_id, hash);
}
