import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { maskBsuidsIn } from './messages/identity.js';

/**
 * pino: JSON lines by default, readable lines on a terminal. Two safety nets on top of never logging
 * secrets or numbers on purpose: known secret fields are censored, and any run of 7-15 digits that looks
 * like a phone number, and any business-scoped user id (messages/identity.ts), is masked wherever it appears
 * in a line.
 */

/**
 * A phone number in text: a run of 7-15 digits that is not part of a longer word or number (it may follow
 * `_`, `-` or `.`, as in `wa_id_447911123456`), or an international number written in groups after `+` or
 * `00` (`+44 7911 123456`, `0044-7911-123456`). Dates and times are not matched: they start with neither.
 */
const PHONE = /(?<![A-Za-z0-9])(?:(?:\+|00)\d{1,4}(?:[ -]\d{1,6}){1,5}|\+?\d{7,15})(?![A-Za-z0-9])/g;

/**
 * A plain number followed by one of these is a quantity, not a phone number (`larger than 16777216 bytes`,
 * `took 1500000 ms`).
 */
const UNIT_AFTER = /^ (?:bytes|ms|milliseconds|seconds|characters|lines|messages)\b/;

/**
 * Whether a plain run of digits (no `+`, no groups) cannot be a phone number: 12 to 15 digits starting with 1.
 * Country code 1 (North America) has 11-digit numbers only and no other country code starts with 1, so such a
 * run is no international number; it is a time in milliseconds (13 digits) or an id made of one (a stream
 * entry's). Shorter runs that start with 1 stay masked: national numbers such as São Paulo's are written so.
 */
const notAPhone = (match: string): boolean => /^1\d{11,14}$/.test(match);

export function maskPhonesIn(text: string): string {
  return text.replace(PHONE, (match, offset: number) => {
    const digits = match.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) return match;
    // A number written with `+` or in groups is always taken for a phone number.
    const plain = /^\d+$/.test(match);
    if (plain && (notAPhone(match) || UNIT_AFTER.test(text.slice(offset + match.length, offset + match.length + 14))))
      return match;
    // Keep the country code's first digits and the last two, as the grouped form's punctuation is dropped.
    const head = digits.slice(0, Math.min(4, digits.length - 5));
    return `${match.startsWith('+') ? '+' : ''}${head}${'*'.repeat(digits.length - head.length - 2)}${digits.slice(-2)}`;
  });
}

/** Phone numbers and business-scoped user ids masked: both name a person. */
const maskText = (text: string): string => maskPhonesIn(maskBsuidsIn(text));

function maskValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskText(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1));
  // An error's message may quote a number (EngageLab's own messages do): log a masked copy. The copy keeps the
  // error's class, as pino's err serializer (which runs after this) names it by its constructor.
  if (value instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    for (const [k, v] of Object.entries(value))
      (copy as unknown as Record<string, unknown>)[k] = maskValue(v, depth + 1);
    const hidden = (v: unknown) => ({ value: v, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(copy, 'message', hidden(maskText(value.message)));
    if (value.stack) Object.defineProperty(copy, 'stack', hidden(maskText(value.stack)));
    if (value.cause !== undefined) Object.defineProperty(copy, 'cause', hidden(maskValue(value.cause, depth + 1)));
    return copy;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskValue(v, depth + 1);
  return out;
}

export const REDACT_PATHS = [
  'secret',
  'password',
  'authorization',
  'auth',
  '*.secret',
  '*.password',
  '*.authorization',
  '*.auth',
  '*.headers.authorization',
  '*.*.headers.authorization',
  'ENGAGELAB_DEV_SECRET',
  'DASHBOARD_PASSWORD',
  'CALLBACK_TOKEN',
];

export interface LoggerOptions {
  level?: string;
  /** Human-readable output; defaults to "stderr is a terminal". */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const readable = options.pretty ?? (destination === process.stderr && process.stderr.isTTY === true);
  const stream = readable
    ? pretty({
        destination: destination as NodeJS.WritableStream & { fd?: number },
        sync: true,
        colorize: true,
        ignore: 'pid,hostname',
      })
    : destination;
  return pino(
    {
      level: options.level ?? 'info',
      ...(options.name !== undefined && { name: options.name }),
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { log: (object) => maskValue(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskText(a) : a)) as Parameters<typeof method>;
          method.apply(this, masked);
        },
      },
    },
    stream as pino.DestinationStream,
  );
}

export type { Logger };
