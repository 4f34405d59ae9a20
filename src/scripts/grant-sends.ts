import type { Redis } from 'ioredis';
import { script, type Arg } from './loader.js';

/** grant-sends.lua: the answer's code. */
export const GrantCode = { Answered: 0, Held: 1, Paused: 2 } as const;
export type GrantCode = (typeof GrantCode)[keyof typeof GrantCode];

/** grant-sends.lua: each request's verdict. */
export const GrantVerdict = {
  Granted: 'g',
  Wait: 'w',
  Sent: 'sent',
  Dead: 'dead',
  InFlight: 'inflight',
  CampaignPaused: 'paused',
  CampaignCancelled: 'cancelled',
  NoSession: 'nosession',
  Expired: 'expired',
  Suppressed: 'suppressed',
} as const;
/** What of a job's data differs from its ledger record (`tampered:<what>`). */
export type Mismatch = 'record' | 'campaign' | 'to' | 'payload';
/** Also `pair:<ms>` and `limit:<ms>`: wait so long; `tampered:<what>`: the job is not its record's. */
export type GrantVerdict =
  (typeof GrantVerdict)[keyof typeof GrantVerdict] | `pair:${number}` | `limit:${number}` | `tampered:${Mismatch}`;

/** What a request's first ask checks in the ledger: nothing (a retry), settled, or settled or in flight. */
export type LedgerCheck = 'none' | 'settled' | 'settled-or-inflight';
const CHECK_ARG: Record<LedgerCheck, string> = { none: '0', settled: '1', 'settled-or-inflight': '2' };

export interface GrantKeys {
  /** The account's pace, the hold, the outage breaker and its half-open probe. */
  accountPace: string;
  hold: string;
  breaker: string;
  probe: string;
  /** The lane's queue's meta hash, its pace and its state. */
  laneMeta: string;
  lanePace: string;
  laneState: string;
  /** The messaging limit's window and the messages it holds. */
  tier: string;
  tierHeld: string;
  /** The fleet's control hash, suppressed numbers. */
  control: string;
  suppressed: string;
}

/** One request asked for. */
export interface GrantRequest {
  /** The message record, its campaign's counters, the pair key (lane and recipient), the session key. */
  messageKey: string;
  campaignKey: string;
  pairKey: string;
  sessionKey: string;
  check: LedgerCheck;
  /** The recipient. */
  to: string;
  template: boolean;
  requestId: string;
  /** Epoch ms after which it must not leave. */
  expiresAt?: number | undefined;
  /** Its campaign, and its payload's digest: given a digest, the first ask compares them with the record. */
  campaign: string;
  digest?: string | undefined;
}

export interface GrantSends {
  keys: GrantKeys;
  /** The account's spacing and burst (ms). */
  spacingMs: number;
  burstMs: number;
  /** This process's token, should it get the half-open probe. */
  probeToken: string;
  outageThreshold: number;
  probeTtlMs: number;
  /** The grants are for Redis's now + this (ms). */
  leadMs: number;
  laneSpacingMs: number;
  pairIntervalMs: number;
  messagingLimit: number | 'unlimited' | 'auto';
  messagingWindowMs: number;
  sessionCheck: boolean;
  /** The head of the process's queue, in order. */
  requests: readonly GrantRequest[];
}

export interface GrantReply {
  code: GrantCode;
  /** Held: for how long; answered: until the next grant is due (ms). */
  waitMs: number;
  /** A grant is the half-open probe. */
  probe: boolean;
  /** The breaker's failures. */
  failures: number;
  /** Redis's clock as the script ran (epoch ms). */
  redisNow: number;
  /** Answered: a verdict per request asked, in order (none when held or paused). */
  verdicts: GrantVerdict[];
}

type Reply = [GrantCode, string | number, 0 | 1, number, string, ...GrantVerdict[]];
const call = script<Reply>('grant-sends');

/** Send grants for the head of a process's queue of one lane's requests (grant-sends.lua). */
export async function grantSends(client: Redis, input: GrantSends): Promise<GrantReply> {
  const k = input.keys;
  const keys = [
    k.accountPace,
    k.hold,
    k.breaker,
    k.probe,
    k.laneMeta,
    k.lanePace,
    k.laneState,
    k.tier,
    k.tierHeld,
    k.control,
    k.suppressed,
  ];
  const argv: Arg[] = [
    input.spacingMs.toFixed(3),
    input.burstMs,
    input.probeToken,
    input.outageThreshold,
    input.probeTtlMs,
    input.leadMs.toFixed(3),
    input.laneSpacingMs.toFixed(3),
    input.pairIntervalMs,
    input.messagingLimit === 'unlimited' ? -1 : input.messagingLimit,
    input.messagingWindowMs,
    input.sessionCheck ? '1' : '0',
  ];
  for (const r of input.requests) {
    keys.push(r.messageKey, r.campaignKey, r.pairKey, r.sessionKey);
    argv.push(
      CHECK_ARG[r.check],
      r.to,
      r.template ? '1' : '0',
      r.requestId,
      r.expiresAt ?? 0,
      r.campaign,
      r.digest ?? '',
    );
  }
  const reply = await call(client, keys, argv);
  return {
    code: reply[0],
    waitMs: Number(reply[1]),
    probe: reply[2] === 1,
    failures: reply[3],
    redisNow: Number(reply[4]),
    verdicts: reply.slice(5) as GrantVerdict[],
  };
}
