import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Keys } from '../redis/keys.js';
import { MarketingVerdict, reserveMarketing } from '../scripts/reserve-marketing.js';
import type { TemplateCategories } from './template-categories.js';

/** Meta's per-user marketing limit: the user has had enough marketing messages for now (a delivery error). */
export const MARKETING_LIMIT_CODE = 131049;

/** How often a worker process looks whether any recipient rests, while it believes none does. */
const RESTS_LOOK_MS = 1000;

/**
 * What marketing fatigue says of a template message about to be sent:
 *   free     not concerned (not marketing, or nothing to check): send, nothing to give back
 *   held     a marketing message that took one of its recipient's FREQUENCY_CAP places: send; give the place
 *            back (release) if it ends up not sent after all
 *   capped   every place is taken: the message is skipped (frequency_cap), never sent
 *   resting  the recipient rests after a 131049: the message waits `ms`, no request and no attempt
 */
export type FatigueVerdict = { kind: 'free' } | { kind: 'held' } | { kind: 'capped' } | { kind: 'resting'; ms: number };

const FREE: FatigueVerdict = { kind: 'free' };

/**
 * Marketing fatigue, per recipient across campaigns: at most FREQUENCY_CAP marketing template messages in its
 * rolling window, and none while the recipient rests (MARKETING_REST after a delivery failed with Meta's
 * 131049). Only MARKETING templates are concerned (the category from TemplateCategories); utility and
 * authentication templates, text and media never are.
 *
 * Cost: with FREQUENCY_CAP unset, a send asks nothing while no recipient rests (a process looks at most once
 * a second whether one does, through {prefix}:marketing-rests); otherwise one script call per marketing
 * template message. Memory: a recipient's window and rest keys expire with them.
 */
export class Fatigue {
  private restsUntil = 0;
  private lookedAt = Number.NEGATIVE_INFINITY;
  private looking: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: Pick<Config, 'FREQUENCY_CAP' | 'MARKETING_REST'>,
    private readonly categories?: TemplateCategories,
  ) {}

  /** Whether fatigue can ever act in this configuration (a cap, or a rest after 131049). */
  get on(): boolean {
    return this.config.FREQUENCY_CAP !== undefined || this.config.MARKETING_REST > 0;
  }

  /**
   * The verdict for one template message (its request_id, its recipient as sent, its template). Rejects when
   * the template's category cannot be looked up (the caller waits and asks again).
   */
  async check(requestId: string, to: string, template: { name: string; language: string }): Promise<FatigueVerdict> {
    const cap = this.config.FREQUENCY_CAP;
    if (!this.categories || (!cap && !(await this.anyRests()))) return FREE;
    if ((await this.categories.of(template.name, template.language)) !== 'MARKETING') return FREE;
    const { verdict, restMs } = await reserveMarketing(this.redis, {
      keys: {
        sent: this.keys.marketingSent(to),
        rest: this.keys.marketingRest(to),
        message: this.keys.message(requestId),
      },
      requestId,
      now: Date.now(),
      max: cap?.max ?? 0,
      windowMs: cap?.windowMs ?? 0,
    });
    // Settled already, or in flight when a worker died: the send grant answers for it, and no place moves.
    if (verdict === MarketingVerdict.NotPending) return FREE;
    if (verdict === MarketingVerdict.Resting) return { kind: 'resting', ms: restMs };
    if (verdict === MarketingVerdict.Capped) return { kind: 'capped' };
    return cap ? { kind: 'held' } : FREE;
  }

  /**
   * Whether a marketing template message to `to` would be held back now (the recipient rests, or every
   * FREQUENCY_CAP place in the window is taken), without taking a place: a follow-up leaves such a recipient
   * out at its evaluation. Rejects when the template's category cannot be looked up.
   */
  async holds(to: string, template: { name: string; language: string }): Promise<boolean> {
    const cap = this.config.FREQUENCY_CAP;
    if (!this.categories || !this.on) return false;
    if ((await this.categories.of(template.name, template.language)) !== 'MARKETING') return false;
    const now = Date.now();
    const [rest, taken] = await Promise.all([
      this.config.MARKETING_REST > 0 ? this.redis.pttl(this.keys.marketingRest(to)) : Promise.resolve(0),
      cap ? this.redis.zcount(this.keys.marketingSent(to), `(${now - cap.windowMs}`, '+inf') : Promise.resolve(0),
    ]);
    return rest > 0 || (cap !== undefined && taken >= cap.max);
  }

  /**
   * Gives a held place back: the message was not sent after all (skipped, parked, dead before it left, expired
   * after a wait). Nothing to do, and nothing asked, without FREQUENCY_CAP (no place is ever taken).
   */
  async release(requestId: string, to: string): Promise<void> {
    if (!this.config.FREQUENCY_CAP) return;
    await this.redis.zrem(this.keys.marketingSent(to), requestId);
  }

  /** A delivery failed with 131049: the recipient rests for MARKETING_REST (from now; a later one extends it). */
  async rest(to: string): Promise<boolean> {
    const ms = this.config.MARKETING_REST;
    if (ms <= 0) return false;
    await this.redis
      .multi()
      .set(this.keys.marketingRest(to), String(Date.now() + ms), 'PX', ms)
      .set(this.keys.marketingRests, '1', 'PX', ms)
      .exec();
    return true;
  }

  /** Whether some recipient may rest now: looked at in Redis at most once every RESTS_LOOK_MS. */
  private async anyRests(): Promise<boolean> {
    if (this.config.MARKETING_REST <= 0) return false;
    const now = Date.now();
    if (now < this.restsUntil) return true;
    if (now - this.lookedAt >= RESTS_LOOK_MS) {
      this.looking ??= this.redis
        .pttl(this.keys.marketingRests)
        .then((ms) => {
          this.lookedAt = Date.now();
          this.restsUntil = ms > 0 ? this.lookedAt + ms : 0;
        })
        .finally(() => (this.looking = undefined));
      await this.looking;
    }
    return Date.now() < this.restsUntil;
  }
}
