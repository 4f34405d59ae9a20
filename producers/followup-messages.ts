import { createHash } from 'node:crypto';
import { parseDuration, parseWindow, type CampaignOptions } from '../src/campaigns/options.js';
import type { Followup, FollowupMessage } from '../src/campaigns/followups.js';
import type { Config } from '../src/config.js';
import type { MessageRecord } from '../src/ledger/ledger.js';
import { validateMessage } from '../src/messages/validate.js';
import { preflightFromConfig, type Preflight } from '../src/preflight/preflight.js';
import { rowToMessage } from './csv-reader.js';
import type { SourceItem } from './enqueue.js';

/**
 * A follow-up rule's messages (docs/campaigns.md#follow-ups): the campaign options they are written with, each
 * matching source message's follow-up with its placeholders filled and a request_id derived from the rule and
 * the recipient (so that a rule evaluated again writes nothing twice), and the placeholders a rule names that
 * its source's custom_args seem not to have; and the sample message a rule's checks at creation use, with its
 * template looked up as preflight looks it up. The rule itself is checked and stored in ./followups.ts.
 */

/** A {{name}} in a follow-up's text or template parameter: the source message's custom_args.name. */
export const PLACEHOLDER = /\{\{\s*([^}\s]+)\s*\}\}/g;

/**
 * The campaign options a rule's messages are written with, at its evaluation (`now`): an `expires_in` counts
 * from then. An `expires_at` already past makes messages that end `expired` at once, as `enqueue`'s would.
 */
export function followupControl(
  rule: Pick<Followup, 'send_window' | 'expires_in' | 'expires_at' | 'priority'>,
  now = Date.now(),
): CampaignOptions {
  return {
    priority: rule.priority,
    ...(rule.send_window !== null && { window: parseWindow(rule.send_window, 'send_window') }),
    ...(rule.expires_in !== null && { expiresAt: now + parseDuration(rule.expires_in, 'expires_in') }),
    ...(rule.expires_at !== null && { expiresAt: Date.parse(rule.expires_at) }),
  };
}

/** A text with each {{name}} replaced by the source message's custom_args.name (text as it is, else JSON). */
function fill(text: string, args: Record<string, unknown>): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    const value = args[name];
    if (value === undefined || value === null) return '';
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

/**
 * The request_id of a rule's follow-up to one recipient: the same on every evaluation of the rule, so the
 * enqueue script's request_id dedupe makes a second evaluation write nothing (one message per recipient
 * per rule, whatever restarts happen).
 */
export function followupRequestId(ruleId: string, to: string): string {
  return `${ruleId.replace('_', '-')}-${createHash('sha256').update(`${ruleId}\0${to}`).digest('base64url').slice(0, 22)}`;
}

/** The follow-up of one source message, as enqueue takes a message: the original custom_args carried over. */
export function followupMessage(
  ruleId: string,
  message: FollowupMessage,
  source: Pick<MessageRecord, 'request_id' | 'to' | 'custom_args'>,
): Record<string, unknown> {
  const args = source.custom_args ?? {};
  const row: Record<string, string> = { to: source.to };
  for (const [column, value] of Object.entries(message.params ?? {})) row[column] = fill(value, args);
  // A text is filled here, not by the CSV reader, so a {{…}} inside a custom_args value stays as it is.
  const built =
    message.text !== undefined
      ? { to: source.to, body: { type: 'text', text: { body: fill(message.text, args) } } }
      : rowToMessage(row, { template: message.template, language: message.language });
  return {
    ...built,
    request_id: followupRequestId(ruleId, source.to),
    ...(source.custom_args !== undefined && { custom_args: source.custom_args }),
  };
}

/**
 * The follow-ups of a rule's matching source messages, as enqueue's items: each recipient once (the first
 * matching message's custom_args), those the admission hook holds back counted and left out. A recipient whose
 * follow-up is `written` already (an evaluation taken up again after an interruption) is not asked of the
 * hook: it is the rule's own message, which enqueue counts as a duplicate (enqueued), and the place it took
 * in the recipient's FREQUENCY_CAP must not hold it back now.
 */
export async function* followupItems(
  rule: Pick<Followup, 'id' | 'message'>,
  sources: AsyncIterable<MessageRecord>,
  admits: (to: string) => Promise<boolean>,
  counts: { held: number },
  written?: (requestId: string) => Promise<boolean>,
): AsyncGenerator<SourceItem> {
  // Bounded by the source campaign's recipients: one number a recipient while the rule evaluates.
  const seen = new Set<string>();
  let line = 0;
  for await (const source of sources) {
    line++;
    if (seen.has(source.to)) continue;
    seen.add(source.to);
    const own = written !== undefined && (await written(followupRequestId(rule.id, source.to)));
    if (!own && !(await admits(source.to))) {
      counts.held++;
      continue;
    }
    yield { line, value: followupMessage(rule.id, rule.message, source) };
  }
}

/** How many of the source campaign's messages are read, at creation, for the names their custom_args have. */
export const PLACEHOLDER_SAMPLE = 100;

/**
 * The {{name}}s of a message that no custom_args of the first PLACEHOLDER_SAMPLE sources has (none read, none
 * named): each would be filled with an empty string, likely a misspelling. Cheap: one page of the source.
 */
export async function unknownPlaceholders(message: FollowupMessage, sources: AsyncIterable<MessageRecord>) {
  const texts = [message.text ?? '', ...Object.values(message.params ?? {})];
  const names = new Set(texts.flatMap((text) => [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string)));
  if (names.size === 0) return [];
  let read = 0;
  for await (const source of sources) {
    for (const name of Object.keys(source.custom_args ?? {})) names.delete(name);
    if (++read >= PLACEHOLDER_SAMPLE || names.size === 0) break;
  }
  return read === 0 ? [] : [...names];
}

/**
 * The message a rule would send, with each placeholder as a custom_args value could give it (sampled): what
 * the check at creation validates, and what a template lookup screens (preflight).
 */
export function sampleOf(message: FollowupMessage): Record<string, unknown> {
  return followupMessage(
    'fu_sample0000',
    {
      ...message,
      ...(message.text !== undefined && { text: sampled('text', message.text) }),
      ...(message.params && {
        params: Object.fromEntries(Object.entries(message.params).map(([k, v]) => [k, sampled(k, v)])),
      }),
    },
    { request_id: 'sample', to: '+447911123456' },
  );
}

/** A preflight for templateCheck when EngageLab's credentials are set (without them templates are not looked up). */
export function templateLookup(config: Config): Preflight | undefined {
  return config.ENGAGELAB_DEV_KEY && config.ENGAGELAB_DEV_SECRET ? preflightFromConfig(config, false) : undefined;
}

/**
 * The template of a rule's message looked up in EngageLab's templates, as `wa-bulk check` does: a problem (no
 * such template or language, not approved, parameters that do not fit) is the reason the rule is refused; a
 * lookup that fails (EngageLab unreachable, the credentials refused) leaves a warning. The preflight given
 * must not have run; a text, or a message the sample check refuses, is not looked up.
 */
export async function templateCheck(
  message: FollowupMessage,
  preflight: Preflight,
): Promise<{ looked: boolean; problem?: string; warning?: string }> {
  if (message.template === undefined || message.language === undefined) return { looked: false };
  const checked = validateMessage(sampleOf(message));
  if (!checked.ok) return { looked: false };
  // Only the template is looked up: the sample's links are made up (its media are checked per recipient).
  preflight.collect({
    ...checked.message,
    body: { type: 'template', template: { name: message.template, language: message.language } },
  });
  try {
    await preflight.run();
  } catch (error) {
    return {
      looked: false,
      warning: `template ${message.template} (${message.language}) not checked: ${(error as Error).message}`,
    };
  }
  const screened = preflight.screen(checked.message);
  return {
    // A lookup that failed leaves a warning and no answer.
    looked: screened.warnings.length === 0 || screened.reject !== undefined,
    ...(screened.reject !== undefined && { problem: screened.reject }),
    ...(screened.warnings[0] !== undefined && { warning: screened.warnings[0] }),
  };
}

/** The columns whose whole value must be a link, or an international number, to be valid. */
const LINK_COLUMNS = new Set(['header_image', 'header_video', 'header_document']);
const NUMBER_COLUMNS = new Set(['from']);

/**
 * A value with each {{name}} as a custom_args value could give it, for the check at creation: a link when a
 * placeholder is a link column's whole value, an international number when it is a sender's, else `x`. What
 * a recipient's custom_args really give is checked at evaluation: a value invalid there (no link, no number,
 * or missing) rejects that recipient's message, counted in the rule's `rejected`.
 */
function sampled(column: string, value: string): string {
  const whole = value.trim() !== '' && value.replace(PLACEHOLDER, '').trim() === '';
  if (whole && LINK_COLUMNS.has(column)) return 'https://example.invalid/x';
  if (NUMBER_COLUMNS.has(column)) return value.replace(PLACEHOLDER, whole ? '+447911123456' : '1234567');
  return value.replace(PLACEHOLDER, 'x');
}
