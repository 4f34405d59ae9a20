import {
  campaignOptions,
  parseDuration,
  parseTime,
  CampaignOptionError,
  MAX_AHEAD_MS,
} from '../src/campaigns/options.js';
import type { FollowupControl, FollowupMessage } from '../src/campaigns/followups.js';
import { whereFilter } from '../src/ledger/outcomes.js';
import { CAMPAIGN_ID } from '../src/messages/ids.js';
import { validateMessage } from '../src/messages/validate.js';
import { UsageError } from '../src/usage-error.js';
import { checkColumns, checkCsvOptions } from './csv-reader.js';
import { sampleOf } from './followup-messages.js';

/**
 * A follow-up rule's fields checked where they enter (docs/campaigns.md#follow-ups): the command line and the
 * HTTP API name them their own way (FOLLOWUP_FLAGS, FOLLOWUP_FIELDS), and a bad one is a UsageError in the
 * caller's words. What can only be checked against the ledger is checked at creation, in ./followups.ts.
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
    if (options.expiresAt !== undefined && !(options.expiresAt <= now + MAX_AHEAD_MS))
      throw new UsageError(
        `${raw.expiresAt !== undefined ? names.expires_at : names.expires_in}: more than ${MAX_AHEAD_MS / 86_400_000} days ahead`,
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
