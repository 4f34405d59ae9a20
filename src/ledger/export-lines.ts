import type { MessageRecord } from './records.js';
import type { RejectedLine } from './rejects.js';

/**
 * A campaign's export as lines, for `wa-bulk export` and GET /api/campaigns/:id/export: its messages (one
 * `result --json` record a line, or CSV) or its kept rejected lines (`--rejected`), with a header row in CSV.
 */

export type ExportFormat = 'jsonl' | 'csv';

/** The CSV columns of a message, in order; the delivery columns are empty until a delivery callback. */
export const CSV_COLUMNS = [
  'request_id',
  'campaign',
  'to',
  'status',
  'message_id',
  'error_code',
  'http_status',
  'reason',
  'error_message',
  'attempts',
  'updated_at',
  'delivery_status',
  'delivery_at',
  'delivery_error_code',
] as const;

/** The CSV columns of a rejected line. */
export const REJECT_CSV_COLUMNS = ['line', 'error', 'enqueued_at'] as const;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const csvRow = (cells: readonly unknown[]) => cells.map(csvCell).join(',');

export function csvLine(r: MessageRecord): string {
  return csvRow([
    r.request_id,
    r.campaign,
    r.to,
    r.status,
    r.message_id,
    r.error?.code,
    r.error?.http_status,
    r.error?.reason,
    r.error?.message,
    r.attempts,
    r.updated_at,
    r.delivery?.status,
    r.delivery?.at,
    r.delivery?.error_code,
  ]);
}

/** Every line of an export of messages: the header row (CSV), then one line per record. */
export async function* messageLines(
  records: AsyncIterable<MessageRecord>,
  format: ExportFormat,
): AsyncGenerator<string> {
  if (format === 'csv') yield CSV_COLUMNS.join(',');
  for await (const record of records) yield format === 'csv' ? csvLine(record) : JSON.stringify(record);
}

/** Every line of an export of rejected lines: the header row (CSV), then one line per rejected line. */
export function* rejectLines(lines: Iterable<RejectedLine>, format: ExportFormat): Generator<string> {
  if (format === 'csv') yield REJECT_CSV_COLUMNS.join(',');
  for (const r of lines) yield format === 'csv' ? csvRow([r.line, r.error, r.enqueued_at]) : JSON.stringify(r);
}
