import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { FOLLOWUP_QUEUE } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import { createFollowup, type CreateFollowupReply } from '../scripts/create-followup.js';
import { moveFollowup } from '../scripts/move-followup.js';
import {
  countFields,
  FOLLOWUP_ID,
  NO_CONTROL,
  rowOf,
  type Followup,
  type FollowupCounts,
  type FollowupSpec,
  type FollowupState,
  type InvalidFollowup,
} from './followup-rule.js';

// The rule itself (its types, states and record) is in followup-rule.ts; its users import it from here too.
export {
  cancelRefused,
  cannotShow,
  FOLLOWUP_ID,
  FOLLOWUP_STATES,
  NO_CONTROL,
  type Followup,
  type FollowupControl,
  type FollowupCounts,
  type FollowupMessage,
  type FollowupSpec,
  type FollowupState,
  type InvalidFollowup,
} from './followup-rule.js';

/**
 * Follow-up rules (docs/campaigns.md#follow-ups): "when this comes due, send the recipients of campaign FROM
 * whose messages match WHERE one message of campaign CAMPAIGN". This module is the one writer of a rule's
 * record ({prefix}:followup:<id>, a hash) and of the index of rules ({prefix}:followups, ids by creation).
 *
 * A rule moves scheduled → evaluating → done, or to cancelled while scheduled, or while evaluating when no
 * worker runs its job (its evaluation failed and waits to be tried again, or its worker died); each move is one
 * script (move-followup.lua, which looks at the job's lock in the same step), so a cancel and the rule's
 * evaluation never both win. A rule interrupted while evaluating (its worker killed, Redis gone) stays
 * `evaluating` and is evaluated again from the start: its messages' request_ids are derived from the rule and
 * the source message, so nothing is enqueued twice.
 *
 * Bounded: at most MAX_FOLLOWUPS rules are scheduled or evaluating at once (cancelling one frees its place), and
 * at most MAX_KEPT_FOLLOWUPS are kept in all; a done or cancelled one expires with the ledger's TTL. A rule is
 * counted and written in one script (create-followup.lua), so rules made at the same time never pass them.
 */

export const MAX_FOLLOWUPS = 1000;
export const MAX_KEPT_FOLLOWUPS = 10 * MAX_FOLLOWUPS;
/** How often a create reads the index again when other rules were made or pruned meanwhile. */
const CREATE_TRIES = 50;

export class Followups {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** How long a done or cancelled rule is kept (ms): the ledger's TTL. */
    private readonly keepMs: number,
  ) {}

  /**
   * Stores a new rule, scheduled; refused with the reason when MAX_FOLLOWUPS are scheduled or evaluating, or
   * MAX_KEPT_FOLLOWUPS are kept in all.
   */
  async create(spec: FollowupSpec, actor: string, now = Date.now()): Promise<Followup | { refused: string }> {
    const id = `fu_${randomBytes(8).toString('hex').slice(0, 10)}`;
    const control = spec.control ?? NO_CONTROL;
    const fields: Record<string, string> = {
      send_window: control.send_window ?? '',
      expires_in: control.expires_in ?? '',
      expires_at: control.expires_at ?? '',
      priority: control.priority,
      id,
      from: spec.from,
      where: spec.where,
      campaign: spec.campaign,
      message: JSON.stringify(spec.message),
      after: spec.after ?? '',
      due_at: String(spec.dueAt),
      state: 'scheduled',
      created_at: String(now),
      created_by: actor,
    };
    // Counted and written in one script; read again while other rules are made or pruned at the same time.
    let reply: CreateFollowupReply = 'changed';
    for (let tries = 0; reply === 'changed' && tries < CREATE_TRIES; tries++) {
      await this.prune();
      const ids = await this.redis.zrange(this.keys.followups, '0', '-1');
      reply = await createFollowup(this.redis, {
        keys: {
          followups: this.keys.followups,
          followup: this.keys.followup(id),
          rules: ids.map((ruleId) => this.keys.followup(ruleId)),
        },
        id,
        now,
        maxActive: MAX_FOLLOWUPS,
        maxKept: MAX_KEPT_FOLLOWUPS,
        fields,
        ruleIds: ids,
      });
    }
    if (reply === 'kept')
      return {
        refused: `too many follow-up rules are kept (${MAX_KEPT_FOLLOWUPS}): a done or cancelled one is kept for RESULT_TTL_DAYS`,
      };
    if (reply === 'active')
      return {
        refused: `too many follow-up rules are scheduled or evaluating (${MAX_FOLLOWUPS}): cancel some ("wa-bulk followup cancel ID")`,
      };
    if (reply === 'changed') return { refused: 'follow-up rules are being made too fast to count them: try again' };
    const rule = await this.get(id);
    if (!rule) {
      // Checked before it got here (producers/followups.ts); a rule that cannot be shown is not left behind.
      await this.discard(id);
      throw new Error(`follow-up ${id} could not be read back after it was written; it was removed`);
    }
    return rule;
  }

  /** Removes a rule that was just made and could not be scheduled: nothing of it is left (its place freed). */
  async discard(id: string): Promise<void> {
    await this.redis.multi().del(this.keys.followup(id)).zrem(this.keys.followups, id).exec();
  }

  /** The rule; undefined when there is none, or its stored record cannot be shown (see read()). */
  async get(id: string): Promise<Followup | undefined> {
    const row = await this.read(id);
    return row && 'rule' in row ? row.rule : undefined;
  }

  /** The rule, or what makes its stored record impossible to show (as list() names it); undefined: none. */
  async read(id: string): Promise<{ rule: Followup } | InvalidFollowup | undefined> {
    if (!FOLLOWUP_ID.test(id)) return undefined;
    return rowOf(await this.redis.hgetall(this.keys.followup(id)));
  }

  /**
   * Every rule kept, oldest first; `from` keeps those of one source campaign. A stored rule that cannot be
   * shown (a time out of a Date's range or a message that is not JSON, written before they were checked) is
   * left out and named in `invalid`, with what is wrong, so that one bad record never makes a listing fail.
   */
  async list(from?: string, invalid: InvalidFollowup[] = []): Promise<Followup[]> {
    await this.prune();
    const ids = await this.redis.zrange(this.keys.followups, '0', '-1');
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.followup(id));
    const rules: Followup[] = [];
    for (const [, hash] of (await pipeline.exec()) ?? []) {
      const row = rowOf(hash as Record<string, string>);
      if (!row) continue;
      if (!('rule' in row)) {
        if (from === undefined || (hash as Record<string, string>).from === from) invalid.push(row);
      } else if (from === undefined || row.rule.from === from) rules.push(row.rule);
    }
    return rules;
  }

  /**
   * Scheduled, or evaluating while no worker runs its job → cancelled: true; false with the state it is in
   * (undefined: no such rule; `evaluating`: a worker is evaluating it now).
   */
  async cancel(
    id: string,
    actor: string,
    now = Date.now(),
  ): Promise<{ cancelled: true } | { cancelled: false; state: FollowupState | undefined }> {
    if (!FOLLOWUP_ID.test(id)) return { cancelled: false, state: undefined };
    const outcome = await moveFollowup(this.redis, {
      keys: { followup: this.keys.followup(id), lock: `${this.keys.bullJob(FOLLOWUP_QUEUE, id)}:lock` },
      from: ['scheduled', 'evaluating'],
      to: 'cancelled',
      fields: { cancelled_at: String(now), cancelled_by: actor },
      keepMs: this.keepMs,
      busy: 'evaluating',
    });
    return outcome.moved
      ? { cancelled: true }
      : { cancelled: false, state: outcome.state as FollowupState | undefined };
  }

  /**
   * The rule, now evaluating, when it is scheduled or was interrupted while evaluating; undefined when it is
   * gone, cancelled or done (nothing to do).
   */
  async begin(id: string, now = Date.now()): Promise<Followup | undefined> {
    const outcome = await this.move(id, ['scheduled', 'evaluating'], 'evaluating', { started_at: String(now) }, false);
    return outcome.moved ? this.get(id) : undefined;
  }

  /** Its counts so far, while it evaluates (the campaigns page shows them). */
  async progress(id: string, counts: FollowupCounts): Promise<void> {
    await this.redis.hset(this.keys.followup(id), countFields(counts));
  }

  /** Evaluating → done, with its counts (and a note when it ended otherwise than plainly); kept for the ledger's TTL. */
  async finish(id: string, counts: FollowupCounts, now = Date.now(), note?: string): Promise<void> {
    await this.move(id, ['evaluating'], 'done', {
      ...countFields(counts),
      finished_at: String(now),
      ...(note !== undefined && { note }),
    });
  }

  /** Ids whose record has expired leave the index. */
  private async prune(): Promise<void> {
    const ids = await this.redis.zrange(this.keys.followups, '0', '-1');
    if (ids.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.exists(this.keys.followup(id));
    const exists = ((await pipeline.exec()) ?? []).map(([, n]) => n === 1);
    const gone = ids.filter((_, i) => !exists[i]);
    if (gone.length > 0) await this.redis.zrem(this.keys.followups, ...gone);
  }

  private move(id: string, from: FollowupState[], to: FollowupState, fields: Record<string, string>, expire = true) {
    return moveFollowup(this.redis, {
      keys: { followup: this.keys.followup(id) },
      from,
      to,
      fields,
      keepMs: expire ? this.keepMs : undefined,
    });
  }
}
