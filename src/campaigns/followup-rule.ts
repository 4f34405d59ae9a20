import { isoOf } from '../ledger/records.js';
import { PRIORITIES, type Priority } from './options.js';

/**
 * A follow-up rule (docs/campaigns.md#follow-ups) as a thing: what it says, the states it moves through, its
 * stored record (a hash, written by followups.ts) and how that record is shown, or why it cannot be.
 */

export const FOLLOWUP_STATES = ['scheduled', 'evaluating', 'done', 'cancelled'] as const;
export type FollowupState = (typeof FOLLOWUP_STATES)[number];
export const FOLLOWUP_ID = /^fu_[a-z0-9]{10}$/;

/** The message each recipient gets: a template (with its parameters as CSV columns) or a text. */
export interface FollowupMessage {
  template?: string;
  language?: string;
  /** CSV template columns (body_1, header_image, button_url_0, …) → value; `{{name}}` is custom_args.name. */
  params?: Record<string, string>;
  /** The text; `{{name}}` is the original message's custom_args.name. */
  text?: string;
}

/**
 * The campaign options of the messages a rule writes, as `enqueue` takes them: applied when the rule is
 * evaluated (an `expires_in` counts from then).
 */
export interface FollowupControl {
  /** HH:MM-HH:MM of the recipient's local time, or null. */
  send_window: string | null;
  /** A duration (2h) counted from the rule's evaluation, or null. */
  expires_in: string | null;
  /** An ISO time, or null. */
  expires_at: string | null;
  priority: Priority;
}

export const NO_CONTROL: FollowupControl = {
  send_window: null,
  expires_in: null,
  expires_at: null,
  priority: 'normal',
};

/** What a rule says, as given (checked by producers/followups.ts). */
export interface FollowupSpec {
  from: string;
  /** The outcome words (src/ledger/outcomes.ts whereFilter), as given. */
  where: string;
  campaign: string;
  message: FollowupMessage;
  /** `--after`, as given, or null when `--at` set the time. */
  after: string | null;
  /** When it comes due (epoch ms). */
  dueAt: number;
  control?: FollowupControl;
}

/** A rule as `followup list --json` and the API show it. */
export interface Followup extends FollowupControl {
  id: string;
  from: string;
  where: string;
  campaign: string;
  message: FollowupMessage;
  after: string | null;
  due_at: string;
  state: FollowupState;
  created_at: string;
  created_by: string;
  /** When its evaluation began and ended; null before. */
  started_at: string | null;
  finished_at: string | null;
  /** Its messages written to the new campaign (a re-run's duplicates included: each recipient once). */
  enqueued: number;
  /** Matching recipients not sent to because they opted out. */
  suppressed: number;
  /** Matching recipients the admission hook held back (marketing fatigue: a frequency cap or a rest). */
  held: number;
  /** Matching recipients whose message was refused (their custom_args values made it invalid). */
  rejected: number;
  cancelled_at: string | null;
  cancelled_by: string | null;
  /**
   * Why it ended as it did when that is not the plain outcome (its source campaign no longer kept, its target
   * cancelled); null otherwise.
   */
  note: string | null;
}

/** A stored rule that cannot be shown: its id and what is wrong (it can still be cancelled). */
export interface InvalidFollowup {
  id: string;
  state: string;
  problem: string;
}

export interface FollowupCounts {
  enqueued: number;
  suppressed: number;
  held: number;
  rejected: number;
}

/** Why a rule was not cancelled (its state; undefined: no such rule), as the command and the HTTP API say it. */
export function cancelRefused(id: string, state: FollowupState | undefined): string {
  if (state === undefined) return `no follow-up rule "${id}" ("wa-bulk followup list" lists them)`;
  if (state === 'evaluating')
    return `follow-up ${id} is being evaluated by a worker now: it cannot be cancelled until that ends`;
  return `follow-up ${id} is ${state}: it can no longer be cancelled`;
}

/** Why a stored rule is not shown, and that `cancel` (the command or the request that does it) still cancels it. */
export function cannotShow(bad: InvalidFollowup, cancel: string): string {
  return `follow-up ${bad.id} (${bad.state}) cannot be shown: ${bad.problem}; ${cancel} cancels it`;
}

/** A rule's counts as its record stores them. */
export const countFields = (c: FollowupCounts) => ({
  enqueued: String(c.enqueued),
  suppressed: String(c.suppressed),
  held: String(c.held),
  rejected: String(c.rejected),
});

/** A stored rule as shown, or what makes it impossible to show; undefined when there is none. */
export function rowOf(h: Record<string, string> | null | undefined): { rule: Followup } | InvalidFollowup | undefined {
  if (!h?.id || !h.state) return undefined;
  const wrong: string[] = [];
  let message: FollowupMessage = {};
  try {
    message = JSON.parse(h.message ?? '{}') as FollowupMessage;
  } catch {
    wrong.push('its stored message is not JSON');
  }
  const time = (field: string) => {
    const shown = isoOf(h[field]);
    if (shown === null && h[field]) wrong.push(`its ${field} (${h[field].slice(0, 40)}) is not a time`);
    return shown;
  };
  const rule: Followup = {
    id: h.id,
    from: h.from ?? '',
    where: h.where ?? '',
    campaign: h.campaign ?? '',
    message,
    after: h.after || null,
    due_at: time('due_at') ?? '',
    send_window: h.send_window || null,
    expires_in: h.expires_in || null,
    expires_at: h.expires_at || null,
    priority: PRIORITIES.includes(h.priority as Priority) ? (h.priority as Priority) : 'normal',
    state: h.state as FollowupState,
    created_at: time('created_at') ?? '',
    created_by: h.created_by ?? '',
    started_at: time('started_at'),
    finished_at: time('finished_at'),
    enqueued: Number(h.enqueued ?? 0),
    suppressed: Number(h.suppressed ?? 0),
    held: Number(h.held ?? 0),
    rejected: Number(h.rejected ?? 0),
    cancelled_at: time('cancelled_at'),
    cancelled_by: h.cancelled_by || null,
    note: h.note || null,
  };
  if (!rule.due_at || !rule.created_at) wrong.push('it has no due_at or created_at');
  return wrong.length === 0 ? { rule } : { id: h.id, state: h.state, problem: [...new Set(wrong)].join('; ') };
}
