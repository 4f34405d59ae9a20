import type { Queue } from 'bullmq';
import type { Followup, Followups } from '../src/campaigns/followups.js';
import { MAX_AHEAD_MS } from '../src/campaigns/options.js';
import { resultTtlSeconds, type Config } from '../src/config.js';
import type { Ledger } from '../src/ledger/ledger.js';
import type { Preflight } from '../src/preflight/preflight.js';
import { FOLLOWUP_JOB_OPTIONS, type FollowupJob } from '../src/queue.js';
import { UsageError } from '../src/usage-error.js';
import type { FollowupInput } from './followup-input.js';
import { PLACEHOLDER_SAMPLE, templateCheck, unknownPlaceholders } from './followup-messages.js';

export {
  FOLLOWUP_FIELDS,
  FOLLOWUP_FLAGS,
  followupInput,
  type FollowupInput,
  type FollowupNames,
  type RawFollowup,
} from './followup-input.js';

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
 * the followups queue. Its fields are checked in ./followup-input.ts; its messages, built when a worker
 * evaluates it, are ./followup-messages.ts's.
 */

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
 * MAX_AHEAD_MS bounds a rule's time.
 */
export function sourceKeptMs(config: Pick<Config, 'RESULT_TTL_DAYS' | 'DATABASE_URL'>): number {
  return config.DATABASE_URL ? MAX_AHEAD_MS : Math.min(resultTtlSeconds(config) * 1000, MAX_AHEAD_MS);
}

/**
 * Stores a checked rule and schedules its evaluation. `--after` counts from the source campaign's end (its
 * last message settled) when it has ended, else from its start (its first message settled), else from its
 * `--at`, else from now: the time is fixed here, at creation. Every time is checked before anything is
 * written: a rule due later than its source is kept (`keptMs` from now, MAX_AHEAD_MS at most) is
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
    /** How long the source campaign is kept (sourceKeptMs); by default only MAX_AHEAD_MS bounds it. */
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
  const keptMs = Math.min(deps.keptMs ?? MAX_AHEAD_MS, MAX_AHEAD_MS);
  if (!Number.isFinite(dueAt) || dueAt > now + keptMs)
    throw new UsageError(
      `${flag}: the rule would come due ${Number.isFinite(dueAt) && dueAt < 8.64e15 ? `at ${new Date(dueAt).toISOString()}` : 'beyond any date'}, ` +
        `later than campaign "${input.from}" is kept (${Math.floor(keptMs / 86_400_000)} days from now${keptMs < MAX_AHEAD_MS ? ': RESULT_TTL_DAYS' : ''}): ` +
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
