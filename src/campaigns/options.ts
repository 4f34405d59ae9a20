import type { SendWindow } from '../messages/timezone.js';

/**
 * A campaign's control options, as `enqueue` flags (--at, --send-window, --expires-in, --expires-at,
 * --priority) and the HTTP API's query parameters (at, send_window, expires_in, expires_at, priority).
 *
 *   TIME      ISO 8601 with an offset (2026-12-24T09:00:00+01:00, …Z), or +30m / +2h / +90s from now
 *   DURATION  90s, 10m, 2h, 1d
 *   WINDOW    HH:MM-HH:MM of the recipient's local time; 20:00-02:00 crosses midnight
 */

export type Priority = 'high' | 'normal' | 'low';
export const PRIORITIES: readonly Priority[] = ['high', 'normal', 'low'];

export interface CampaignOptions {
  /** No message leaves before this (epoch ms). */
  notBefore?: number;
  window?: SendWindow;
  /** A message not sent by then is never sent (epoch ms). */
  expiresAt?: number;
  priority: Priority;
}

export class CampaignOptionError extends Error {
  override name = 'CampaignOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * The longest duration and the farthest time ahead any of these options accepts: ten years. Past it a value is
 * a typo (`99999999999d`), and far enough past it no date can be written for it at all. It is also the furthest
 * ahead a follow-up rule may come due or expire, whatever keeps its source (the longest RESULT_TTL_DAYS is 3650
 * days): producers/followups.ts refuses a later time at creation.
 */
export const MAX_AHEAD_MS = 3650 * 86_400_000;

export function parseDuration(text: string, option: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  if (!match || Number(match[1]) === 0)
    throw new CampaignOptionError(option, `expected a duration such as 90s, 10m, 2h or 1d, got "${text}"`);
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  if (ms > MAX_AHEAD_MS)
    throw new CampaignOptionError(option, `expected a duration of at most 3650d (ten years), got "${text}"`);
  return ms;
}

const ISO_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?(Z|[+-](\d\d):?(\d\d))$/;

/**
 * An ISO 8601 time with an offset, in epoch ms; undefined when it is not one or names no real instant:
 * `Date.parse` would move 2027-02-30 to 2 March and 24:00 to the next day, so the parts are checked first.
 */
export function isoTime(text: string): number | undefined {
  const m = ISO_TIME.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * `--since` and `?since=` (the audit log, webhook replays): an ISO 8601 time with an offset, or a duration meaning that long ago (`2h`, `-2h`,
 * `7d`).
 */
export function parseSince(text: string, option: string, now = Date.now()): number {
  const value = text.trim();
  if (/^-?\d+[smhd]$/.test(value)) return now - parseDuration(value.replace(/^-/, ''), option);
  const ms = isoTime(value);
  if (ms === undefined)
    throw new CampaignOptionError(
      option,
      `expected an ISO 8601 time with an offset (e.g. 2026-12-24T09:00:00+01:00) or a duration ago such as 2h, got "${text}"`,
    );
  return ms;
}

export function parseTime(text: string, option: string, now = Date.now()): number {
  const value = text.trim();
  if (value.startsWith('+')) return now + parseDuration(value.slice(1), option);
  // An offset (or Z) is required: a bare local time would mean the server's zone, which nobody intends.
  const ms = isoTime(value);
  if (ms === undefined) {
    throw new CampaignOptionError(
      option,
      `expected an ISO 8601 time with an offset (e.g. 2026-12-24T09:00:00+01:00) or +30m, got "${text}"`,
    );
  }
  if (ms > now + MAX_AHEAD_MS) throw new CampaignOptionError(option, `"${text}" is more than ten years ahead`);
  return ms;
}

export function parseWindow(text: string, option: string): SendWindow {
  const match = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!match)
    throw new CampaignOptionError(
      option,
      `expected HH:MM-HH:MM of the recipient's local time (e.g. 09:00-21:00), got "${text}"`,
    );
  const from = Number(match[1]) * 60 + Number(match[2]);
  const to = Number(match[3]) * 60 + Number(match[4]);
  if (from === to) throw new CampaignOptionError(option, `the window "${text}" is empty (it starts where it ends)`);
  return { from, to };
}

export function parsePriority(text: string, option: string): Priority {
  if (!PRIORITIES.includes(text as Priority))
    throw new CampaignOptionError(option, `expected high, normal or low, got "${text}"`);
  return text as Priority;
}

export interface RawCampaignOptions {
  at?: string | undefined;
  sendWindow?: string | undefined;
  expiresIn?: string | undefined;
  expiresAt?: string | undefined;
  priority?: string | undefined;
}

/** The options, checked; names are given as the caller spells them (flags or query parameters). */
export function campaignOptions(
  raw: RawCampaignOptions,
  names: Record<keyof RawCampaignOptions, string>,
  now = Date.now(),
): { options: CampaignOptions; notes: string[] } {
  const notes: string[] = [];
  const options: CampaignOptions = {
    priority: raw.priority === undefined ? 'normal' : parsePriority(raw.priority, names.priority),
  };
  if (raw.at !== undefined) {
    const at = parseTime(raw.at, names.at, now);
    if (at <= now) notes.push(`${names.at}: ${raw.at} is in the past; sending now`);
    else options.notBefore = at;
  }
  if (raw.sendWindow !== undefined) options.window = parseWindow(raw.sendWindow, names.sendWindow);
  if (raw.expiresIn !== undefined && raw.expiresAt !== undefined)
    throw new CampaignOptionError(names.expiresIn, `give ${names.expiresIn} or ${names.expiresAt}, not both`);
  if (raw.expiresIn !== undefined) options.expiresAt = now + parseDuration(raw.expiresIn, names.expiresIn);
  if (raw.expiresAt !== undefined) options.expiresAt = parseTime(raw.expiresAt, names.expiresAt, now);
  if (options.expiresAt !== undefined && options.expiresAt <= (options.notBefore ?? now)) {
    throw new CampaignOptionError(
      raw.expiresAt !== undefined ? names.expiresAt : names.expiresIn,
      'the campaign would expire before it starts',
    );
  }
  return { options, notes };
}

export const FLAG_NAMES = {
  at: '--at',
  sendWindow: '--send-window',
  expiresIn: '--expires-in',
  expiresAt: '--expires-at',
  priority: '--priority',
} as const;
export const QUERY_NAMES = {
  at: 'at',
  sendWindow: 'send_window',
  expiresIn: 'expires_in',
  expiresAt: 'expires_at',
  priority: 'priority',
} as const;

/** "09:00-21:00" of a window. */
export function formatWindow(window: SendWindow): string {
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return `${hhmm(window.from)}-${hhmm(window.to)}`;
}
