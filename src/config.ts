import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { normalisePhone, phoneProblem } from './messages/phone.js';
import { formatNetwork, parseNetwork } from './networks.js';
import { filterProblem } from './events/filters.js';
import { secretProblem } from './events/signing.js';

/** Networks separated by commas, each checked; kept as canonical CIDR text. */
function parseNetworks(value: string, ctx: z.RefinementCtx): string[] {
  const out: string[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const network = parseNetwork(part);
    if (!network) {
      ctx.addIssue({
        code: 'custom',
        message: `expected networks separated by commas, each an address or a CIDR block (e.g. 203.0.113.0/24,2001:db8::/32), and "${part}" is not one`,
        params: { quotesInput: true },
      });
      return [];
    }
    out.push(formatNetwork(network));
  }
  return out;
}

/** A duration: a number of milliseconds, or a number with ms, s, m, h or d. Undefined when it is not one. */
function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] as number;
  return Math.round(Number(match[1]) * unit);
}

/**
 * The one place that reads the environment. Every other module receives a `Config`.
 * Precedence: explicit option > environment > `.env` > a command's own defaults > the schema's default.
 * An empty string means "unset".
 */

const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: `expected an integer between ${min} and ${max}` })
    .int({ error: `expected an integer between ${min} and ${max}` })
    .min(min, { error: `expected an integer between ${min} and ${max}` })
    .max(max, { error: `expected an integer between ${min} and ${max}` });

const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

export const configSchema = z.object({
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  /** A Redis Cluster: its nodes, host:port,… (any of them; the client learns the rest). */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((value, ctx) => {
      const nodes = value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean)
        .map((part) => /^([^:\s]+):(\d{1,5})$/.exec(part));
      if (nodes.length === 0 || nodes.some((m) => m === null || Number(m[2]) > 65_535)) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected host:port pairs separated by commas (e.g. 10.0.0.1:6379,10.0.0.2:6379)',
        });
        return z.NEVER;
      }
      return nodes.map((m) => ({ host: (m as RegExpExecArray)[1] as string, port: Number((m as RegExpExecArray)[2]) }));
    })
    .optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]+$/, { error: 'expected letters, digits, "_", "-", "." or "{…}" hash tags' })
    .default('wa-bulk'),
  ENGAGELAB_BASE_URL: url(['http:', 'https:']).default('https://wa.api.engagelab.cc'),
  ENGAGELAB_DEV_KEY: z.string().optional(),
  ENGAGELAB_DEV_SECRET: z.string().optional(),
  WA_FROM: z
    .string()
    .transform((value, ctx) => {
      const phone = normalisePhone(value);
      const problem = phone === undefined ? undefined : phoneProblem(phone);
      if (phone === undefined || problem !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `expected an international phone number (country code and number)${problem ? `; this one ${problem}` : ''}`,
        });
        return z.NEVER;
      }
      return phone;
    })
    .optional(),
  SEND_RATE_MAX: int(1, 100_000).default(80),
  SEND_RATE_DURATION_MS: int(10, 3_600_000).default(1000),
  SENDER_RATE_MAX: int(1, 100_000).default(80),
  SENDER_RATES: z
    .string()
    .transform((value, ctx) => {
      const rates: Record<string, number> = {};
      for (const part of value
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const match = /^([^=]+)=(\d+)$/.exec(part);
        const phone = match ? normalisePhone(match[1] as string) : undefined;
        const rate = match ? Number(match[2]) : 0;
        if (!match || phone === undefined || rate < 1 || rate > 100_000) {
          ctx.addIssue({
            code: 'custom',
            message: `expected NUMBER=RATE pairs separated by commas (e.g. 8613800138000=1000,8613800138001=20), and "${part}" is not one`,
            params: { quotesInput: true },
          });
          return z.NEVER;
        }
        rates[phone] = rate;
      }
      return rates;
    })
    .default({}),
  MESSAGING_LIMIT: z.coerce
    .string()
    .regex(/^(auto|unlimited|[1-9]\d{0,8})$/, { error: 'expected a positive integer, "unlimited" or "auto"' })
    .transform((value): number | 'unlimited' | 'auto' =>
      value === 'auto' || value === 'unlimited' ? value : Number(value),
    )
    .default('auto'),
  /** The messaging limit's moving window; a day, as WhatsApp counts it (shorter only to rehearse or test). */
  MESSAGING_WINDOW_MS: int(1000, 7 * 86_400_000).default(86_400_000),
  PAIR_INTERVAL_MS: int(0, 3_600_000).default(6000),
  SESSION_CHECK: z.enum(['off', 'enforce'], { error: 'expected "off" or "enforce"' }).default('off'),
  QUALITY_WINDOW: int(1, 100_000).default(200),
  /**
   * Marketing fatigue (src/recipients/fatigue.ts): at most MAX marketing template messages per recipient in
   * any rolling WINDOW, across campaigns (`2/7d`); unset: no cap.
   */
  FREQUENCY_CAP: z
    .string()
    .transform((value, ctx) => {
      const match = /^\s*(\d{1,6})\s*\/\s*(\S+)\s*$/.exec(value);
      const max = match ? Number(match[1]) : 0;
      const windowMs = match ? parseDuration(match[2] as string) : undefined;
      if (!match || max < 1 || windowMs === undefined || windowMs < 1000 || windowMs > 366 * 86_400_000) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected MAX/WINDOW: a count from 1 and a duration from 1s to 366d (e.g. 2/7d, 1/24h)',
        });
        return z.NEVER;
      }
      return { max, windowMs };
    })
    .optional(),
  /** How long a recipient rests after Meta's 131049 (per-user marketing limit); 0: no rest. */
  MARKETING_REST: z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      const ms = parseDuration(String(value));
      if (ms === undefined || ms > 30 * 86_400_000) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration up to 30d (e.g. 24h, 6h, 90m; 0: off)' });
        return z.NEVER;
      }
      return ms;
    })
    .default(86_400_000),
  /** An inbound message whose whole text is one of these (any case) suppresses its sender. */
  OPT_OUT_KEYWORDS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((word) => word.trim().toUpperCase())
        .filter(Boolean),
    )
    .default(['STOP', 'UNSUBSCRIBE']),
  /** Receives one campaign.done POST per campaign (done or cancelled), retried with backoff. */
  CAMPAIGN_WEBHOOK_URL: url(['http:', 'https:']).optional(),
  /** The one webhook endpoint declared in the configuration (docs/webhooks.md), its secret and event filters. */
  WEBHOOK_URL: url(['http:', 'https:']).optional(),
  WEBHOOK_SECRET: z
    .string()
    .refine((value) => secretProblem(value) === undefined, {
      error: 'expected "whsec_" followed by the base64 of 24 to 64 random bytes',
    })
    .optional(),
  WEBHOOK_EVENTS: z
    .string()
    .transform((value, ctx) => {
      const filters = value
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean);
      for (const filter of filters) {
        const problem = filterProblem(filter);
        if (problem) ctx.addIssue({ code: 'custom', message: problem, params: { quotesInput: true } });
      }
      return filters;
    })
    .optional(),
  /** A webhook request's time limit: its answer must have come by then. */
  WEBHOOK_TIMEOUT_MS: int(100, 600_000).default(15_000),
  /**
   * When a webhook delivery is attempted: the first attempt's delay (0: at once), then each retry's after the
   * attempt before, jittered by ±20%. Svix's schedule by default, about 27 hours in all.
   */
  WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .transform((value, ctx) => {
      const parts = value.split(',').map((p) => p.trim());
      const delays = parts.map(parseDuration);
      if (parts.length > 20 || delays.some((d) => d === undefined))
        ctx.addIssue({
          code: 'custom',
          message: 'expected up to 20 durations separated by commas, such as 0,5s,5m,2h',
        });
      return delays.map((d) => d ?? 0);
    })
    .default([0, 5000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]),
  /** An endpoint whose every delivery has failed for this long is disabled (Svix's five days). */
  WEBHOOK_DISABLE_AFTER_MS: int(1000, 365 * 86_400_000).default(5 * 86_400_000),
  /** How long the dispatcher lets events gather for an endpoint that takes batches. */
  WEBHOOK_BATCH_LINGER_MS: int(0, 60_000).default(200),
  // Not z.coerce.boolean(): it reads "false" as true.
  WEBHOOK_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'expected "true" or "false"' })
    .transform((value) => value === 'true')
    .default(false),
  /** The change feed's cap: past it its oldest entries go, whether every reader has read them or not. */
  FEED_MAX_ENTRIES: int(1000, 1_000_000_000).default(2_000_000),
  PREFLIGHT_CONCURRENCY: int(1, 256).default(8),
  PREFLIGHT_TIMEOUT_MS: int(100, 600_000).default(5000),
  // Not z.coerce.boolean(): it reads "false" as true.
  PREFLIGHT_ALLOW_PRIVATE: z
    .enum(['true', 'false'], { error: 'expected "true" or "false"' })
    .transform((value) => value === 'true')
    .default(false),
  /**
   * A rate card (CSV: market, category, price, currency, effective_date) that `check` and `enqueue --dry-run`
   * price a campaign's template messages with, and whose estimate a real enqueue keeps on the campaign; unset:
   * they only count them.
   */
  RATE_CARD_FILE: z.string().min(1).optional(),
  /** A low-priority message waiting longer than this is moved up to normal, so that it never starves. */
  LOW_PRIORITY_MAX_WAIT_MS: int(1000, 7 * 86_400_000).default(600_000),
  QUALITY_MAX_FAILED: z.coerce
    .number({ error: 'expected a fraction between 0 and 1' })
    .min(0, { error: 'expected a fraction between 0 and 1' })
    .max(1, { error: 'expected a fraction between 0 and 1' })
    .default(0.2),
  WORKER_CONCURRENCY: int(1, 10_000).default(100),
  WORKER_LOCK_MS: int(1000, 600_000).default(30_000),
  HTTP_TIMEOUT_MS: int(100, 600_000).default(15_000),
  /** How requests reach EngageLab: axios over undici's Pool, or axios's own Node http adapter. */
  HTTP_TRANSPORT: z.enum(['undici', 'node'], { error: 'expected "undici" or "node"' }).default('undici'),
  RETRY_RETRIES: int(0, 20).default(3),
  RETRY_MIN_MS: int(0, 600_000).default(500),
  RETRY_MAX_MS: int(0, 600_000).default(5000),
  SEND_ATTEMPTS: int(1, 100).default(5),
  SEND_BACKOFF_MS: int(0, 86_400_000).default(30_000),
  AMBIGUOUS_OUTCOME: z
    .enum(['dead-letter', 'resend'], { error: 'expected "dead-letter" or "resend"' })
    .default('dead-letter'),
  OUTAGE_THRESHOLD: int(1, 1_000_000).default(20),
  OUTAGE_COOLDOWN_MS: int(10, 3_600_000).default(1000),
  OUTAGE_COOLDOWN_MAX_MS: int(10, 3_600_000).default(60_000),
  RESULT_TTL_DAYS: int(1, 3650).default(30),
  /** The long-term ledger (src/archive/): settled records go to PostgreSQL, Redis keeps them HOT_TTL_SECONDS. */
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, { error: 'expected a postgres:// or postgresql:// URL' })
    .optional(),
  HOT_TTL_SECONDS: int(1, 315_360_000).default(259_200),
  /** Whether this process drains the archive stream into PostgreSQL (with DATABASE_URL). */
  ARCHIVER: z.enum(['on', 'off'], { error: 'expected "on" or "off"' }).default('on'),
  DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  DASHBOARD_PORT: int(0, 65_535).default(3000),
  DASHBOARD_USER: z.string().min(1).default('admin'),
  DASHBOARD_PASSWORD: z.string().min(12, { error: 'expected at least 12 characters' }).optional(),
  /** Requests a second one API key may make (all dashboard processes together); a key may set its own. */
  API_KEY_RATE: int(1, 100_000).default(50),
  /** One token, or two separated by a comma while the URL EngageLab calls is changed (the first is current). */
  CALLBACK_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,}(,[A-Za-z0-9_-]{16,})?$/, {
      error: 'expected one or two (comma-separated) tokens of at least 16 letters, digits, "_" or "-"',
    })
    .optional(),
  /** Where delivery callbacks may come from: none (any source), or these networks. */
  CALLBACK_ALLOW_FROM: z
    .string()
    .transform((value, ctx) => {
      const list = parseNetworks(value, ctx);
      return list.length > 0 ? list : undefined;
    })
    .optional(),
  /**
   * How a callback's source is found behind reverse proxies: a number of proxy hops (the address that many
   * entries from the right of X-Forwarded-For), or the proxies' networks (hops from them are skipped).
   */
  CALLBACK_TRUSTED_PROXIES: z
    .union([z.number(), z.string()])
    .transform((value, ctx): number | string[] => {
      const text = String(value).trim();
      if (!/^\d+$/.test(text)) return parseNetworks(text, ctx);
      if (Number(text) > 10)
        ctx.addIssue({ code: 'custom', message: 'expected a number of proxy hops from 0 to 10, or their networks' });
      return Number(text);
    })
    .default(0),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** Never echoed back in an error message or a log line. */
export const SECRET_VARIABLES = new Set([
  'ENGAGELAB_DEV_SECRET',
  'DASHBOARD_PASSWORD',
  'CALLBACK_TOKEN',
  'REDIS_URL',
  'DATABASE_URL',
  'WEBHOOK_SECRET',
]);

export type Config = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = Partial<Record<keyof z.input<typeof configSchema>, string | number | undefined>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly expected: string,
  ) {
    super(`${variable}: ${expected}`);
  }
}

/**
 * Reads KEY=VALUE lines; quotes around the value are removed, and an unquoted value ends at ` #` (a comment).
 * A secret is never cut that way without a word: its ` #` is refused, naming the variable, since a password
 * or token may well hold one (quote the value to keep it whole). Existing environment values win.
 */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2] ?? '';
    const quoted = /^(['"])(.*)\1$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    else if (/\s#/.test(value) && SECRET_VARIABLES.has(match[1] as string))
      throw new ConfigError(
        match[1] as string,
        'its value in .env holds " #", which would start a comment; quote the value',
      );
    else value = value.replace(/\s+#.*$/, '');
    out[match[1] as string] = value;
  }
  return out;
}

export interface LoadConfigOptions {
  /** Values given explicitly (command-line flags, tests); they win over the environment. */
  overrides?: ConfigInput;
  env?: NodeJS.ProcessEnv;
  /** Path of a `.env` file to read when present; `false` to skip. */
  dotEnvPath?: string | false;
  /** Defaults of a particular command (the demo's); the environment still wins over them. */
  defaults?: ConfigInput;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const dotEnvPath = options.dotEnvPath ?? '.env';
  const fromFile = dotEnvPath && existsSync(dotEnvPath) ? parseDotEnv(readFileSync(dotEnvPath, 'utf8')) : {};
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const explicit = options.overrides?.[key as keyof ConfigInput];
    const candidates = [explicit, env[key], fromFile[key], options.defaults?.[key as keyof ConfigInput]];
    const value = candidates.find((v) => v !== undefined && v !== '');
    if (value !== undefined) raw[key] = typeof value === 'string' ? value.trim() : value;
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'configuration');
    // A message that already quotes the bad part needs no "got …".
    const quotes = (issue as { params?: { quotesInput?: boolean } } | undefined)?.params?.quotesInput === true;
    const shown = SECRET_VARIABLES.has(variable) || quotes ? undefined : raw[variable];
    throw new ConfigError(variable, describeIssue(issue, shown));
  }
  const config = parsed.data;
  // Every script and BullMQ's own touch several keys at once; a Redis Cluster takes that only within one
  // slot, which a {hash tag} in the prefix gives all of them.
  if (config.REDIS_CLUSTER_NODES && !/\{[^{}]+\}/.test(config.QUEUE_PREFIX)) {
    throw new ConfigError(
      'QUEUE_PREFIX',
      `with REDIS_CLUSTER_NODES set, expected a {hash tag} such as "{${config.QUEUE_PREFIX.replace(/[{}]/g, '')}}", got "${config.QUEUE_PREFIX}"`,
    );
  }
  if (config.CALLBACK_TRUSTED_PROXIES !== 0 && config.CALLBACK_ALLOW_FROM === undefined) {
    throw new ConfigError(
      'CALLBACK_TRUSTED_PROXIES',
      "only says how to find a callback's source for CALLBACK_ALLOW_FROM, which is not set",
    );
  }
  if (config.WEBHOOK_URL !== undefined && config.WEBHOOK_SECRET === undefined) {
    throw new ConfigError(
      'WEBHOOK_SECRET',
      'required with WEBHOOK_URL: "whsec_" followed by the base64 of 24 to 64 random bytes (such as whsec_$(openssl rand -base64 32))',
    );
  }
  if (config.RETRY_MIN_MS > config.RETRY_MAX_MS) {
    throw new ConfigError('RETRY_MIN_MS', `expected at most RETRY_MAX_MS (${config.RETRY_MAX_MS})`);
  }
  if (config.OUTAGE_COOLDOWN_MS > config.OUTAGE_COOLDOWN_MAX_MS) {
    throw new ConfigError(
      'OUTAGE_COOLDOWN_MS',
      `expected at most OUTAGE_COOLDOWN_MAX_MS (${config.OUTAGE_COOLDOWN_MAX_MS})`,
    );
  }
  return Object.freeze(config);
}

function describeIssue(issue: z.core.$ZodIssue | undefined, value: unknown): string {
  const shown = value === undefined ? '' : `, got ${JSON.stringify(String(value)).slice(0, 60)}`;
  return `${issue?.message ?? 'invalid value'}${shown}`;
}

/** How long a message's record (and what hangs off it) is kept in Redis: RESULT_TTL_DAYS in seconds. */
export function resultTtlSeconds(config: Pick<Config, 'RESULT_TTL_DAYS'>): number {
  return config.RESULT_TTL_DAYS * 86_400;
}

/** Fails with the variable's name when a secret the worker needs is missing. */
export function requireCredentials(config: Config): { key: string; secret: string } {
  if (!config.ENGAGELAB_DEV_KEY)
    throw new ConfigError('ENGAGELAB_DEV_KEY', 'required by the worker (your EngageLab DevKey)');
  if (!config.ENGAGELAB_DEV_SECRET)
    throw new ConfigError('ENGAGELAB_DEV_SECRET', 'required by the worker (your EngageLab DevSecret)');
  return { key: config.ENGAGELAB_DEV_KEY, secret: config.ENGAGELAB_DEV_SECRET };
}
