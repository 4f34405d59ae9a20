import type { Redis } from 'ioredis';
import { resultTtlSeconds, type Config } from '../src/config.js';
import { AuditLog } from '../src/access/audit.js';
import { pauseLane } from '../src/lanes/lanes.js';
import { Campaigns } from '../src/campaigns/campaigns.js';
import type { Applied } from '../src/ledger/delivery-ledger.js';
import type { CallbackRow } from '../src/engagelab/callbacks.js';
import { DEFAULT_LANE } from '../src/queue.js';
import { Lanes } from '../src/lanes/lanes.js';
import type { Logger } from '../src/log.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { normalisePhone } from '../src/messages/phone.js';
import type { Keys } from '../src/redis/keys.js';
import { Fatigue, MARKETING_LIMIT_CODE } from '../src/recipients/fatigue.js';
import { userOf } from '../src/recipients/inbound.js';

/**
 * The quality guard, fed by delivery callbacks (Meta's error codes reach us in `status.error_code`):
 * - 131048 (spam rate limit: "stop and check quality") pauses the lane of the number it came from;
 * - 130429 (throughput exceeded) lowers that lane's rate for a while; it recovers by itself;
 * - a campaign whose failed share among its latest QUALITY_WINDOW delivery outcomes passes
 *   QUALITY_MAX_FAILED pauses itself (judged once the window is full: a few early failures of a small
 *   campaign are not a quality signal);
 * - 131049 (Meta's per-user marketing limit) is about the recipient, not the campaign's quality: it rests the
 *   recipient (MARKETING_REST, src/recipients/fatigue.ts) and is not counted among the campaign's outcomes.
 */

export const SPAM_RATE_LIMIT = 131048;
export const THROUGHPUT_EXCEEDED = 130429;

export type QualityEffect = 'lane_paused' | 'lane_slowed' | 'campaign_paused' | 'recipient_rested' | 'session' | null;

export class QualityGuard {
  private readonly lanes: Lanes;
  private readonly campaigns: Campaigns;
  private readonly audit: AuditLog;
  private readonly fatigue: Fatigue;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly config: Config,
    private readonly log: Logger,
    /** To find a 131049's recipient when its row does not name them. */
    private readonly ledger?: Pick<Ledger, 'locate' | 'get'>,
  ) {
    this.lanes = new Lanes(redis, keys, config);
    this.campaigns = new Campaigns(redis, keys);
    this.audit = new AuditLog(redis, keys, resultTtlSeconds(config) * 1000);
    this.fatigue = new Fatigue(redis, keys, config);
  }

  /** The lane of the business number a status row names (a number wa-bulk never sent from: the default). */
  private async laneOf(row: CallbackRow): Promise<string> {
    const number = row.from === undefined ? undefined : normalisePhone(String(row.from));
    if (number !== undefined && (await this.redis.hexists(this.keys.lanes, number))) return number;
    return DEFAULT_LANE;
  }

  /**
   * After a batch's status rows were applied: what it did, for all of them. A campaign's outcomes of the batch
   * are recorded together and its window judged once.
   */
  async onDeliveries(items: ReadonlyArray<{ row: CallbackRow; applied: Applied }>): Promise<QualityEffect[]> {
    const effects: QualityEffect[] = [];
    const outcomes = new Map<string, boolean[]>();
    for (const { row, applied } of items) {
      const update = applied.update;
      if (!update || !applied.campaign) continue;
      if (update.errorCode === SPAM_RATE_LIMIT || update.errorCode === THROUGHPUT_EXCEEDED)
        effects.push(await this.onMetaLimit(row, update.errorCode));
      if (update.errorCode === MARKETING_LIMIT_CODE) {
        const to = await this.recipientOf(row);
        if (to !== undefined && (await this.fatigue.rest(to))) effects.push('recipient_rested');
        continue;
      }
      // A message's outcome counts once: when it first reaches delivered, read or failed.
      const first = applied.previous === null || applied.previous === 'sent';
      if (first && update.status !== 'sent') {
        const list = outcomes.get(applied.campaign) ?? [];
        list.push(update.status === 'failed');
        outcomes.set(applied.campaign, list);
      }
    }
    for (const [campaign, failed] of outcomes)
      if (await this.noteOutcomes(campaign, failed)) effects.push('campaign_paused');
    return effects;
  }

  /**
   * The number a status row is about, as the send path keys a recipient's rest: the row's own number, else the
   * one its message was sent to (a row may name the user by business-scoped id only), else that id.
   */
  private async recipientOf(row: CallbackRow): Promise<string | undefined> {
    const user = userOf(row);
    if (user.phone) return user.phone;
    const located = row.message_id === undefined ? undefined : await this.ledger?.locate(row.message_id);
    const to = located && (await this.ledger?.get(located.requestId))?.to;
    return to || user.id || undefined;
  }

  /** 131048 pauses the lane the row came from, 130429 slows it down for a while. */
  private async onMetaLimit(row: CallbackRow, code: number): Promise<QualityEffect> {
    const lane = await this.laneOf(row);
    if (code === SPAM_RATE_LIMIT) {
      const reason = `quality: Meta ${SPAM_RATE_LIMIT} (spam rate limit) for messages from ${lane}; check the campaign's quality, then "wa-bulk resume --sender ${lane}"`;
      await pauseLane(this.redis, this.keys, lane, reason, 'system:quality-guard');
      await this.audit.note({ actor: 'system:quality-guard', action: 'lane.pause', target: lane, params: { reason } });
      this.log.error({ lane }, `sender paused: ${reason}`);
      return 'lane_paused';
    }
    const factor = await this.lanes.slowDown(lane);
    this.log.warn(
      { lane, factor },
      `Meta ${THROUGHPUT_EXCEEDED} (throughput exceeded): sender slowed down for a while`,
    );
    return 'lane_slowed';
  }

  /** Records outcomes (true: failed), in order; pauses the campaign (and says so) when its latest window fails too often. */
  private async noteOutcomes(campaign: string, failed: readonly boolean[]): Promise<boolean> {
    const key = this.keys.campaignOutcomes(campaign);
    const window = this.config.QUALITY_WINDOW;
    const result = await this.redis
      .multi()
      .lpush(key, ...failed.map((f) => (f ? '1' : '0')))
      .ltrim(key, 0, window - 1)
      .lrange(key, 0, -1)
      .expire(key, resultTtlSeconds(this.config))
      .exec();
    const outcomes = (result?.[2]?.[1] as string[] | undefined) ?? [];
    if (outcomes.length < window) return false;
    const share = outcomes.filter((o) => o === '1').length / outcomes.length;
    if (share <= this.config.QUALITY_MAX_FAILED) return false;
    if ((await this.campaigns.state(campaign)).state !== null) return false;
    const reason = `quality: ${Math.round(share * 100)}% of the latest ${window} delivery outcomes failed (QUALITY_MAX_FAILED ${this.config.QUALITY_MAX_FAILED}); "wa-bulk resume --campaign ${campaign}" when it is checked`;
    await this.campaigns.pause(campaign, reason, 'system:quality-guard');
    await this.audit.note({
      actor: 'system:quality-guard',
      action: 'campaign.pause',
      target: campaign,
      params: { reason },
    });
    this.log.error({ campaign }, `campaign paused: ${reason}`);
    return true;
  }
}
