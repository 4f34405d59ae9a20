import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { pauseState } from '../lanes/fleet.js';
import { Lanes, type LaneState } from '../lanes/lanes.js';
import type { Ledger } from '../ledger/ledger.js';
import type { DeadJobData, SendJobData } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import { withRests, type CampaignWithRest } from './resting.js';

/** The `status --json` shape (docs/cli.md): fields may be added, these do not change. */
export interface StatusReport {
  /** Summed over every sender lane's queue. */
  queue: { waiting: number; active: number; delayed: number; completed: number; failed: number };
  paused: boolean;
  pause_reason: string | null;
  dead: number;
  /** Null without --campaign, and for a campaign the ledger does not know. */
  campaign: CampaignWithRest | null;
  /** Outage breaker / 429 gate, when one is holding sends back. */
  gate: { reason: string; remaining_ms: number } | null;
  /** The business number's messaging limit tier from the latest phone_number_update notification. */
  phone_limit: string | null;
  senders: LaneState[];
  messaging_limit: { limit: number | 'unlimited'; used: number; held: number };
  /** With DATABASE_URL: ledger changes not yet written to PostgreSQL. Null without a long-term ledger. */
  archive: { backlog: number } | null;
}

export interface StatusSources {
  config: Config;
  redis: Redis;
  keys: Keys;
  ledger: Ledger;
  send: Queue<SendJobData>;
  dead: Queue<DeadJobData>;
}

export async function collectStatus(src: StatusSources, campaign?: string): Promise<StatusReport> {
  const lanes = new Lanes(src.redis, src.keys, src.config);
  const [states, pause, dead, campaignCounts, gateReason, gateMs, phoneLimit, limit, backlog] = await Promise.all([
    lanes.states(),
    pauseState(src.redis, src.keys),
    src.dead.getJobCountByTypes('waiting'),
    campaign === undefined ? Promise.resolve(undefined) : src.ledger.campaign(campaign),
    src.redis.get(src.keys.limiterGate),
    src.redis.pttl(src.keys.limiterGate),
    src.redis.hget(src.keys.control, 'phone_limit'),
    lanes.messagingLimit(),
    src.ledger.archiveBacklog(),
  ]);
  return {
    queue: states.counts,
    paused: pause.paused,
    pause_reason: pause.reason,
    dead,
    campaign: campaignCounts ? ((await withRests(src, [campaignCounts]))[0] ?? null) : null,
    gate: gateReason && gateMs > 0 ? { reason: gateReason, remaining_ms: gateMs } : null,
    phone_limit: phoneLimit,
    senders: states.lanes,
    messaging_limit: limit,
    archive: backlog === undefined ? null : { backlog },
  };
}
