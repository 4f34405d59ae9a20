import type { Queue } from 'bullmq';
import { campaignOptions, parseDuration, parseTime, CampaignOptionError } from '../src/campaigns/options.js';
import {
  Followups,
  MAX_FOLLOWUP_AHEAD_MS,
  type Followup,
  type FollowupControl,
  type FollowupMessage,
} from '../src/campaigns/followups.js';
import { resultTtlSeconds, type Config } from '../src/config.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { whereFilter } from '../src/ledger/outcomes.js';
import { CAMPAIGN_ID } from '../src/messages/ids.js';
import { validateMessage } from '../src/messages/validate.js';
import type { Preflight } from '../src/preflight/preflight.js';
import { FOLLOWUP_JOB_OPTIONS, type FollowupJob } from '../src/queue.js';
import { UsageError } from '../src/usage-error.js';
import { checkColumns, checkCsvOptions } from './csv-reader.js';
import { PLACEHOLDER_SAMPLE, sampleOf, templateCheck, unknownPlaceholders } from './followup-messages.js';

export {
  followupControl,
  followupItems,
  followupMessage,
  followupRequestId,
  PLACEHOLDER_SAMPLE,
  templateCheck,
  templateLookup,
  unknownPlaceholders,
} from './followup-messages.js';

/**
 * Follow-ups from the producer's side (docs/campaigns.md#follow-ups): a rule checked where it enters (the
 * command line and the HTTP API name their fields their own way), stored and scheduled as a delayed job of
 * the followups queue. Its messages, built when a worker evaluates it, are ./followup-messages.ts's.
 */

/** A rule's fields as given: flags or a JSON body. */
export interface RawFollowup {
  from?: unknown;
  where?: unknown;
  after?: unknown;
  at?: unknown;
  campaign?: unknown;
  template?: unknown;
  language?: unknown;
  params?: unknown;
  text?: unknown;
  send_window?: unknown;
  expires_in?: unknown;
  expires_at?: unknown;
  priority?: unknown;
}

export type FollowupNames = Record<keyof RawFollowup, string>;

export const FOLLOWUP_FLAGS: FollowupNames = {
  from: '--from',
  where: '--where',
  after: '--after',
  at: '--at',
  campaign: '--campaign',
  template: '--template',
  language: '--language',
  params: '--params',
  text: '--text',
  send_window: '--send-window',
  expires_in: '--expires-in',
  expires_at: '--expires-at',
  priority: '--priority',
};
export const FOLLOWUP_FIELDS: FollowupNames = {
  from: 'from',
  where: 'where',
  after: 'after',
  at: 'at',
  campaign: 'campaign',
  template: 'template',
  language: 'language',
  params: 'params',
  text: 'text',
  send_window: 'send_window',
  expires_in: 'expires_in',
  expires_at: 'expires_at',
  priority: 'priority',
};

/** A rule checked: its source, filter words, new campaign, message, and when (`after` ms or `at` epoch ms). */
export interface FollowupInput {
  from: string;
  where: string;
  campaign: string;
  message: FollowupMessage;
  when: { after: string; afterMs: number } | { at: number };
  /** The campaign options of its messages (an `expires_at` as an ISO time). */
  control: FollowupControl;
  /** How the caller spells the fields, for an error found at creation. */
  names: FollowupNames;
}

/** The rule's fields checked; a bad one is a UsageError naming it. `params` may be JSON text (a flag). */
export function followupInput(raw: RawFollowup, names: FollowupNames, now = Date.now()): FollowupInput {
  const text = (field: keyof RawFollowup, required = false): string | undefined => {
    const value = raw[field];
    if (value === undefined || value === null) {
      if (required) throw new UsageError(`${names[field]} is required`);
      return undefined;
    }
    if (typeof value !== 'string') throw new UsageError(`${names[field]}: expected text`);
    return value;
  };
  const from = text('from', true) as string;
  const campaign = text('campaign', true) as string;
  for (const [field, id] of [
    ['from', from],
    ['campaign', campaign],
  ] as const)
    if (!CAMPAIGN_ID.test(id)) throw new UsageError(`${names[field]}: expected 1-64 letters, digits, "_" or "-"`);
  if (campaign === from)
    throw new UsageError(`${names.campaign}: the follow-up needs a campaign of its own, not its source "${from}"`);
  const where = text('where', true) as string;
  whereFilter(where, names.where);

  const after = text('after');
  const at = text('at');
  if ((after === undefined) === (at === undefined))
    throw new UsageError(`give ${names.after} DURATION or ${names.at} TIME (one of them)`);
  let when: FollowupInput['when'];
  try {
    when =
      after !== undefined
        ? { after, afterMs: parseDuration(after, names.after) }
        : { at: parseTime(at as string, names.at, now) };
  } catch (error) {
    throw error instanceof CampaignOptionError ? new UsageError(error.message) : error;
  }

  const template = text('template');
  const language = text('language');
  const body = text('text');
  let params: Record<string, string> | undefined;
  let given = raw.params;
  if (typeof given === 'string') {
    try {
      given = JSON.parse(given) as unknown;
    } catch {
      throw new UsageError(`${names.params}: expected a JSON object of template columns, e.g. {"body_1":"{{name}}"}`);
    }
  }
  if (given !== undefined && given !== null) {
    if (typeof given !== 'object' || Array.isArray(given) || !Object.values(given).every((v) => typeof v === 'string'))
      throw new UsageError(
        `${names.params}: expected an object of template columns to text, e.g. {"body_1":"{{name}}"}`,
      );
    params = given as Record<string, string>;
    const own = Object.keys(params).find((column) => column === 'request_id' || column.startsWith('arg_'));
    if (own !== undefined)
      throw new UsageError(
        `${names.params}: "${own}" is the follow-up's own (its request_id is derived, its custom_args are the original message's)`,
      );
  }
  if ((template === undefined) === (body === undefined))
    throw new UsageError(`give ${names.template} NAME with ${names.language} CODE, or ${names.text} (one of them)`);
  if (body !== undefined && (language !== undefined || params !== undefined))
    throw new UsageError(`${names.language} and ${names.params} go with ${names.template}, not ${names.text}`);
  if (template !== undefined && language === undefined)
    throw new UsageError(`${names.template} needs ${names.language} CODE`);
  const message: FollowupMessage =
    body !== undefined ? { text: body } : { template, language, ...(params && { params }) };
  checkMessage(message, names);
  return { from, where, campaign, message, when, control: controlInput(text, names, now), names };
}

/** `--send-window`, `--expires-in` / `--expires-at` and `--priority`, checked as `enqueue` checks them. */
function controlInput(
  text: (field: keyof RawFollowup) => string | undefined,
  names: FollowupNames,
  now: number,
): FollowupControl {
  const raw = {
    sendWindow: text('send_window'),
    expiresIn: text('expires_in'),
    expiresAt: text('expires_at'),
    priority: text('priority'),
  };
  try {
    const { options } = campaignOptions(
      raw,
      {
        at: names.at,
        sendWindow: names.send_window,
        expiresIn: names.expires_in,
        expiresAt: names.expires_at,
        priority: names.priority,
      },
      now,
    );
    // A time no Date holds, or absurdly far: refused here rather than failing where it is shown.
    if (options.expiresAt !== undefined && !(options.expiresAt <= now + MAX_FOLLOWUP_AHEAD_MS))
      throw new UsageError(
        `${raw.expiresAt !== undefined ? names.expires_at : names.expires_in}: more than ${MAX_FOLLOWUP_AHEAD_MS / 86_400_000} days ahead`,
      );
    return {
      send_window: raw.sendWindow?.trim() ?? null,
      expires_in: raw.expiresIn?.trim() ?? null,
      expires_at:
        raw.expiresAt !== undefined && options.expiresAt !== undefined
          ? new Date(options.expiresAt).toISOString()
          : null,
      priority: options.priority,
    };
  } catch (error) {
    throw error instanceof CampaignOptionError ? new UsageError(error.message) : error;
  }
}

/** The message the rule would send, checked now with every placeholder filled, so it is not refused later. */
function checkMessage(message: FollowupMessage, names: FollowupNames): void {
  const options = { template: message.template, language: message.language, text: message.text };
  try {
    if (message.template !== undefined) checkColumns(['to', ...Object.keys(message.params ?? {})], options);
    else checkCsvOptions(options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const text = error.message.replace(/^CSV: unknown column/, `${names.params}: unknown template column`);
    throw new UsageError(text.replace(/^--(template|language|text)\b/, (flag) => names[flag.slice(2) as 'text']));
  }
  const checked = validateMessage(sampleOf(message));
  if (!checked.ok)
    throw new UsageError(
      `${message.text !== undefined ? names.text : names.template}: the follow-up message would be refused: ${checked.error}`,
    );
}

export type CreateResult =
  | {
      ok: true;
      followup: Followup;
      /** What `--after` was counted from (null: `--at` gave the time). */
      counted: 'end' | 'start' | 'at' | 'now' | null;
      /** What the caller should know: a time already past, a {{name}} the source's messages seem not to have. */
      warnings: string[];
    }
  | { ok: false; status: 404 | 409; error: string };

/**
 * How long the source campaign of a rule made now is kept at most (ms): RESULT_TTL_DAYS with Redis alone; with
 * DATABASE_URL its rows are never deleted (docs/operations.md#the-long-term-ledger-postgresql), so only
 * MAX_FOLLOWUP_AHEAD_MS bounds a rule's time.
 */
export function sourceKeptMs(config: Pick<Config, 'RESULT_TTL_DAYS' | 'DATABASE_URL'>): number {
  return config.DATABASE_URL ? MAX_FOLLOWUP_AHEAD_MS : Math.min(resultTtlSeconds(config) * 1000, MAX_FOLLOWUP_AHEAD_MS);
}

/**
 * Stores a checked rule and schedules its evaluation. `--after` counts from the source campaign's end (its
 * last message settled) when it has ended, else from its start (its first message settled), else from its
 * `--at`, else from now: the time is fixed here, at creation. Every time is checked before anything is
 * written: a rule due later than its source is kept (`keptMs` from now, MAX_FOLLOWUP_AHEAD_MS at most) is
 * refused; a rule written and then not scheduled (the queue unreachable) is removed again.
 */
export async function createFollowup(
  input: FollowupInput,
  deps: {
    ledger: Ledger;
    followups: Followups;
    queue: Queue<FollowupJob>;
    actor: string;
    now?: number;
    /** How long the source campaign is kept (sourceKeptMs); by default only MAX_FOLLOWUP_AHEAD_MS bounds it. */
    keptMs?: number;
    /** A preflight not yet run, with EngageLab's credentials: the template is looked up (templateCheck). */
    preflight?: Preflight;
  },
): Promise<CreateResult> {
  const now = deps.now ?? Date.now();
  const names = input.names;
  const source = await deps.ledger.campaign(input.from);
  if (!source) return { ok: false, status: 404, error: `no campaign "${input.from}"` };
  if ((await deps.ledger.campaign(input.campaign))?.state === 'cancelled')
    return {
      ok: false,
      status: 409,
      error: `${names.campaign}: campaign "${input.campaign}" is cancelled, its messages would all be skipped: name another campaign`,
    };
  let dueAt: number;
  let after: string | null = null;
  let counted: 'end' | 'start' | 'at' | 'now' | null = null;
  const warnings: string[] = [];
  if ('at' in input.when) {
    dueAt = input.when.at;
  } else {
    after = input.when.after;
    const base = source.finished_at ?? source.started_at ?? source.at;
    counted = source.finished_at ? 'end' : source.started_at ? 'start' : source.at ? 'at' : 'now';
    dueAt = (base ? Date.parse(base) : now) + input.when.afterMs;
  }
  const flag = after !== null ? names.after : names.at;
  const keptMs = Math.min(deps.keptMs ?? MAX_FOLLOWUP_AHEAD_MS, MAX_FOLLOWUP_AHEAD_MS);
  if (!Number.isFinite(dueAt) || dueAt > now + keptMs)
    throw new UsageError(
      `${flag}: the rule would come due ${Number.isFinite(dueAt) && dueAt < 8.64e15 ? `at ${new Date(dueAt).toISOString()}` : 'beyond any date'}, ` +
        `later than campaign "${input.from}" is kept (${Math.floor(keptMs / 86_400_000)} days from now${keptMs < MAX_FOLLOWUP_AHEAD_MS ? ': RESULT_TTL_DAYS' : ''}): ` +
        'its recipients could no longer be read then',
    );
  if ('at' in input.when && dueAt < now) warnings.push(`due at once: ${new Date(dueAt).toISOString()} is in the past`);
  for (const name of await unknownPlaceholders(input.message, deps.ledger.export(input.from, PLACEHOLDER_SAMPLE)))
    warnings.push(
      `{{${name}}} is in no custom_args of the first ${PLACEHOLDER_SAMPLE} messages of "${input.from}": ` +
        'a message without it gets an empty string there',
    );
  if (input.control.expires_at !== null && Date.parse(input.control.expires_at) <= dueAt)
    throw new UsageError(
      `${names.expires_at}: its messages would expire before the rule is due (${new Date(dueAt).toISOString()})`,
    );
  if (deps.preflight) {
    const looked = await templateCheck(input.message, deps.preflight);
    if (looked.problem !== undefined) throw new UsageError(`${names.template}: ${looked.problem}`);
    if (looked.warning !== undefined) warnings.push(looked.warning);
  }
  const followup = await deps.followups.create(
    {
      from: input.from,
      where: input.where,
      campaign: input.campaign,
      message: input.message,
      after,
      dueAt,
      control: input.control,
    },
    deps.actor,
    now,
  );
  if ('refused' in followup) return { ok: false, status: 409, error: followup.refused };
  try {
    await deps.queue.add(
      'followup',
      { followup: followup.id },
      { ...FOLLOWUP_JOB_OPTIONS, jobId: followup.id, delay: Math.max(0, dueAt - now) },
    );
  } catch (error) {
    // A rule without its job would never come due: it is removed, its place freed, rather than left scheduled.
    await deps.followups.discard(followup.id).catch(() => undefined);
    throw error;
  }
  return { ok: true, followup, counted, warnings };
}
