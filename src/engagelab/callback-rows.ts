import { formatIssues } from '../messages/validate.js';
import { callbackRowSchema, type CallbackRow } from './callbacks.js';

/**
 * A callback batch taken row by row, where it enters: each row is checked on its own, so that a row of a shape
 * wa-bulk does not know is kept aside (src/engagelab/unknown-rows.ts) and never costs the rows beside it.
 * A taken row's `itime` is always a plausible time in epoch seconds (EngageLab's unit): one outside
 * [2015-01-01, receipt + 1 day], or not a number, or absent, becomes the time of receipt, so that no time
 * stored from a callback can break a reader or a Redis command (a PX of 1e23 ms).
 */

/** 2015-01-01T00:00:00Z in epoch seconds: nothing EngageLab reports about WhatsApp is older. */
export const EARLIEST_ITIME_S = 1_420_070_400;
/** How far ahead of the receipt an itime may be (clocks drift; a day is generous). */
export const ITIME_AHEAD_S = 86_400;
/** A taken row's size as JSON at most: EngageLab's rows are about 1 KB, an inbound text at most 4,096 characters. */
export const MAX_ROW_CHARS = 16_384;
/** What is kept of a row of unknown shape: its JSON text, cut at this many characters. */
export const KEPT_ROW_CHARS = 2048;
/** What is kept of the reason a row was not understood. */
const KEPT_ERROR_CHARS = 300;

/** A row that was not understood, as kept for inspection. */
export interface UnknownRow {
  /** Epoch ms. */
  received_at: number;
  /** Why it was not taken. */
  error: string;
  /** The row as JSON, cut at KEPT_ROW_CHARS (then `truncated`). */
  row: string;
  truncated: boolean;
}

export interface TakenRows {
  taken: CallbackRow[];
  unknown: UnknownRow[];
  /** Taken rows whose itime was present but implausible, now the time of receipt. */
  itimeReplaced: number;
}

/** `value` as a plausible itime (epoch seconds), or undefined when it is not one. */
export function plausibleItime(value: unknown, receivedAtMs: number): number | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  return value >= EARLIEST_ITIME_S && value <= receivedAtMs / 1000 + ITIME_AHEAD_S ? value : undefined;
}

export function takeRows(rows: readonly unknown[], receivedAtMs: number): TakenRows {
  const out: TakenRows = { taken: [], unknown: [], itimeReplaced: 0 };
  const receivedS = Math.floor(receivedAtMs / 1000);
  for (const raw of rows) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      out.unknown.push(unknownRow(raw, 'a row must be an object', receivedAtMs));
      continue;
    }
    const given = (raw as { itime?: unknown }).itime;
    const itime = plausibleItime(given, receivedAtMs);
    const parsed = callbackRowSchema.safeParse({ ...raw, itime: itime ?? receivedS });
    if (!parsed.success) {
      out.unknown.push(unknownRow(raw, formatIssues(parsed.error.issues), receivedAtMs));
      continue;
    }
    const size = jsonLength(parsed.data);
    if (size === undefined || size > MAX_ROW_CHARS) {
      const why = size === undefined ? 'nested too deeply' : `${size} characters as JSON`;
      out.unknown.push(unknownRow(raw, `row too large to take (${why}; at most ${MAX_ROW_CHARS})`, receivedAtMs));
      continue;
    }
    if (itime === undefined && given !== undefined) out.itimeReplaced++;
    out.taken.push(parsed.data);
  }
  return out;
}

/** The length of the value as JSON, or undefined when it cannot be written out (nested too deeply). */
function jsonLength(value: unknown): number | undefined {
  try {
    return JSON.stringify(value).length;
  } catch {
    return undefined;
  }
}

function unknownRow(raw: unknown, error: string, receivedAtMs: number): UnknownRow {
  let text: string;
  try {
    text = JSON.stringify(raw) ?? String(raw);
  } catch {
    text = '(not kept: nested too deeply to write out)';
  }
  const truncated = text.length > KEPT_ROW_CHARS;
  return {
    received_at: receivedAtMs,
    error: error.slice(0, KEPT_ERROR_CHARS),
    row: truncated ? text.slice(0, KEPT_ROW_CHARS) : text,
    truncated,
  };
}
