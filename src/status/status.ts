import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { pauseState } from '../lanes/fleet.js';
import { Lanes, type LaneState } from '../lanes/lanes.js';
import type { CampaignCounts, Ledger } from '../ledger/ledger.js';
import type { DeadJobData, SendJobData } from '../queue.js';
import type { Keys } from '../redis/keys.js';

/** The `status --json` shape (docs/cli.md): fields may be added, these do not change. */
export interface StatusReport {
  /** Summed over every sender lane's queue. */
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
  senders: LaneState[];
  messaging_limit: { limit: number | 'unlimited'; used: number; held: number };
  /** With DATABASE_URL: ledger changes not yet written to PostgreSQL. Null without a long-term ledger. */
  archive: { backlog: number } | null;
}

/** A span of time in words: `under a second`, `42 s`, `4 min 12 s`, `3 h 5 min`, `2 d 1 h`. */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 1) return 'under a second';
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} h ${m % 60} min` : `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** An ISO time to the second, for people: `2026-05-01 14:03:12Z`. */
export const shortTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

/**
 * A campaign's timing in words, for `status` and the campaigns page: when it starts or started, when it
 * finished and how long it took (or how long it has run), its rate, and its ETA while it sends.
 */
export function campaignTiming(c: CampaignCounts, now = Date.now()): string[] {
  const started = c.started_at ? Date.parse(c.started_at) : undefined;
  const finished = c.finished_at ? Date.parse(c.finished_at) : undefined;
  const parts: string[] = [];
  if (c.state === 'scheduled' && c.at) parts.push(`starts ${shortTime(c.at)}`);
  if (c.started_at) parts.push(`started ${shortTime(c.started_at)}`);
  if (c.finished_at) parts.push(`finished ${shortTime(c.finished_at)}`);
  if (started !== undefined)
    parts.push(finished ? `took ${duration(finished - started)}` : `running ${duration(now - started)}`);
  if (c.rate !== null) parts.push(`rate ${c.rate.toLocaleString('en-US')}/s${finished ? ' on average' : ''}`);
  if (c.eta) parts.push(`ETA ${shortTime(c.eta)} (in ${duration(Date.parse(c.eta) - now)})`);
  return parts;
}

/** The non-zero counts of a breakdown in words: `131026 × 4, 131049 × 2`; '' for none. */
export function breakdown(counts: Record<string, number>, sign = ' × '): string {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([key, n]) => `${key}${sign}${n.toLocaleString('en-US')}`)
    .join(', ');
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
    campaign: campaignCounts ?? null,
    gate: gateReason && gateMs > 0 ? { reason: gateReason, remaining_ms: gateMs } : null,
    phone_limit: phoneLimit,
    senders: states.lanes,
    messaging_limit: limit,
    archive: backlog === undefined ? null : { backlog },
  };
}
