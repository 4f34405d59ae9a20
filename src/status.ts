import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pauseState } from './control.js';
import type { CampaignCounts, Ledger } from './ledger.js';
import type { DeadJobData, Keys, SendJobData } from './queue.js';

/** The `status --json` shape (README, Command line): fields may be added, these do not change. */
export interface StatusReport {
  queue: { waiting: number; active: number; delayed: number; completed: number; failed: number };
  paused: boolean;
  pause_reason: string | null;
  dead: number;
  /** Null without --campaign, and for a campaign the ledger does not know. */
  campaign: CampaignCounts | null;
  /** Outage breaker / 429 gate, when one is holding sends back. */
  gate: { reason: string; remaining_ms: number } | null;
  /** The business number's messaging limit tier from the latest phone_number_update notification. */
  phone_limit: string | null;
}

export interface StatusSources {
  redis: Redis;
  keys: Keys;
  ledger: Ledger;
  send: Queue<SendJobData>;
  dead: Queue<DeadJobData>;
}

export async function collectStatus(src: StatusSources, campaign?: string): Promise<StatusReport> {
  const [counts, pause, dead, campaignCounts, gateReason, gateMs, phoneLimit] = await Promise.all([
    src.send.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'),
    pauseState(src.send, src.redis, src.keys),
    src.dead.getJobCountByTypes('waiting'),
    campaign === undefined ? Promise.resolve(undefined) : src.ledger.campaign(campaign),
    src.redis.get(src.keys.limiterGate),
    src.redis.pttl(src.keys.limiterGate),
    src.redis.hget(src.keys.control, 'phone_limit'),
  ]);
  return {
    queue: {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
    },
    paused: pause.paused,
    pause_reason: pause.reason,
    dead,
    campaign: campaignCounts ?? null,
    gate: gateReason && gateMs > 0 ? { reason: gateReason, remaining_ms: gateMs } : null,
    phone_limit: phoneLimit,
  };
}
