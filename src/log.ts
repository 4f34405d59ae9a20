import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

/**
 * pino: JSON lines by default, readable lines on a terminal. Two safety nets on top of never logging
 * secrets or numbers on purpose: known secret fields are censored, and any run of 7-15 digits that looks
 * like a phone number is masked wherever it appears in a line.
 */

const PHONE = /(?<![\w.-])\+?(\d{2,4})\d{3,9}(\d{2})(?![\w-])/g;

export function maskPhonesIn(text: string): string {
  return text.replace(PHONE, (match, head: string, tail: string) => {
    const digits = match.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) return match;
    return `${head}${'*'.repeat(digits.length - head.length - tail.length)}${tail}`;
  });
}

function maskValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhonesIn(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1));
  if (value instanceof Error) return value;
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
          const masked = args.map((a) => (typeof a === 'string' ? maskPhonesIn(a) : a)) as Parameters<typeof method>;
          method.apply(this, masked);
        },
      },
    },
    stream as pino.DestinationStream,
  );
}

export type { Logger };
