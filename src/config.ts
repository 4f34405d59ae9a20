import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { dashboardVariables } from './config/dashboard.js';
import { engagelabVariables } from './config/engagelab.js';
import { preflightVariables } from './config/preflight.js';
import { recipientsVariables } from './config/recipients.js';
import { sendingVariables } from './config/sending.js';
import { storageVariables } from './config/storage.js';
import { webhooksVariables } from './config/webhooks.js';

/**
 * The one place that reads the environment. Every other module receives a `Config`.
 * Precedence: explicit option > environment > `.env` > a command's own defaults > the schema's default.
 * An empty string means "unset".
 *
 * The variables are declared by area in ./config/, one file an area; LOG_LEVEL, which belongs to none, is here,
 * and so are the checks that join variables of several areas (loadConfig).
 */

export const configSchema = z.object({
  ...storageVariables,
  ...engagelabVariables,
  ...sendingVariables,
  ...recipientsVariables,
  ...webhooksVariables,
  ...preflightVariables,
  ...dashboardVariables,
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
