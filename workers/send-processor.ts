import { DelayedError, WaitingError, type Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Campaigns } from '../src/campaigns/campaigns.js';
import { resultTtlSeconds, type Config } from '../src/config.js';
import { AuditLog } from '../src/access/audit.js';
import { pauseSending } from '../src/lanes/fleet.js';
import { jsonDigest } from '../src/ledger/digest.js';
import type { DeliveryLedger } from '../src/ledger/delivery-ledger.js';
import type { AttemptHooks, EngageLabClient } from '../src/engagelab/client.js';
import { EngageLabError, decide, policyOf } from '../src/engagelab/errors.js';
import { sendableJson } from '../src/engagelab/request-id-arg.js';
import type { Ledger } from '../src/ledger/ledger.js';
import type { Logger } from '../src/log.js';
import { jobIdFor, laneQueueName, type DeadJobData, type SendJobData } from '../src/queue.js';
import { createDeadEnd, deadErrorOf } from './dead-end.js';
import { createFatigueStep, giveNothingBack, type GiveBack } from './fatigue-step.js';
import { grantSpan, settleSpan } from './send-spans.js';
import { msUntilOpen } from '../src/messages/timezone.js';
import {
  CampaignSignal,
  PausedSignal,
  SettledSignal,
  SkipSignal,
  TamperedSignal,
  WaitSignal,
  type GateRequest,
  type LedgerCheck,
  type SendGate,
  type Ticket,
} from './gate/send-gate.js';
import type { WorkerStats } from '../src/status/fleet-stats.js';
import type { Fatigue } from '../src/recipients/fatigue.js';

/**
 * What happens to one job (the error policy's table is POLICY in src/engagelab/errors.ts):
 *
 *   already sent or dead (ledger)  → done, no HTTP request (read with the first send grant)
 *   not its ledger record's        → dead letter (tampered): its request_id is not its job id's, or its
 *                                    campaign, recipient or payload digest is not the record's (read with
 *                                    the first send grant); its data was changed outside wa-bulk
 *   in flight when a worker died   → AMBIGUOUS_OUTCOME (default: dead letter, reason unknown_outcome)
 *   marketing over FREQUENCY_CAP   → skipped (frequency_cap), no HTTP request (src/recipients/fatigue.ts)
 *   marketing to a resting         → delayed until the rest after a 131049 ends (or the campaign expires),
 *   recipient                        no HTTP request, no attempt
 *   200                            → ledger: sent + message_id
 *   transient (1000, 5xx, refused) → p-retry in process, then BullMQ attempts; the last → dead letter
 *                                    (retries_exhausted); during an outage the attempt is given back
 *   permanent (3xxx, 4001, 4xx)    → dead letter at once
 *   auth (2001-2004)               → pause the queue with the reason; the job goes back, attempts kept
 *   rate_limited (429)             → every worker waits out Retry-After; not an attempt
 *   unknown_outcome                → AMBIGUOUS_OUTCOME
 *   a status callback names it     → sent after all (custom_args carry the request_id; the callback worker
 *                                    records it): a dead letter being written for it is dropped
 *
 * Worst case HTTP requests for one message: SEND_ATTEMPTS × (RETRY_RETRIES + 1), plus the requests
 * answered 429 (which spend nothing but are rate limited) and, with AMBIGUOUS_OUTCOME=resend, nothing more:
 * a resend uses the same attempts.
 */

export interface SendProcessorDeps {
  config: Config;
  ledger: Ledger;
  gate: SendGate;
  client: EngageLabClient;
  deadQueue: Queue<DeadJobData>;
  campaigns: Campaigns;
  redis: Redis;
  log: Logger;
  stats: WorkerStats;
  delivery: DeliveryLedger;
  /** Marketing fatigue (FREQUENCY_CAP, MARKETING_REST); absent or off: nothing is checked. */
  fatigue?: Fatigue;
  /**
   * The request_ids of this process's requests in flight: added once granted, removed when a request fails;
   * an accepted one stays until its job ends (the caller removes it then).
   */
  unsettled?: Set<string>;
}

export function createSendProcessor(deps: SendProcessorDeps) {
  const { config, ledger, gate, client, log, stats, unsettled } = deps;
  const fatigueStep = createFatigueStep(deps.fatigue, log, stats);
  const audit = new AuditLog(deps.redis, ledger.keys, resultTtlSeconds(config) * 1000);
  const queueName = laneQueueName(gate.lane);
  const skip = (requestId: string, campaign: string, reason: Parameters<Ledger['markSkipped']>[2]) =>
    settleSpan(queueName, requestId, 'skipped', () => ledger.markSkipped(requestId, campaign, reason));
  const { fail, tampered } = createDeadEnd({ ...deps, lane: gate.lane, queueName });

  return async function process(job: Job<SendJobData>, token?: string): Promise<string | undefined> {
    const { request_id: requestId, campaign } = job.data;
    // The job's id is its request_id's, written with the ledger record: data naming another is not this job's.
    if (typeof requestId !== 'string' || (job.id !== undefined && job.id !== jobIdFor(requestId)))
      return tampered(job, new TamperedSignal('request_id'));
    // A payload that is not even a message's shape cannot be the recorded one.
    if (!Array.isArray(job.data.payload?.to) || typeof job.data.payload.body !== 'object')
      return tampered(job, new TamperedSignal('payload'));
    // WA_FROM is the fleet's default sending number; a message's own `from` wins. The request_id goes in
    // custom_args too, so that a status callback names the message even if this request's answer is lost.
    // The payload is serialised once: its digest, and the request's body from the same text.
    const payload = job.data.payload;
    const ownJson = JSON.stringify(payload);
    const json = sendableJson(payload, ownJson, requestId, config.WA_FROM);
    const to = payload.to[0] ?? '';
    const request: GateRequest = {
      requestId,
      campaign,
      to,
      template: payload.body.type === 'template',
      expiresAt: job.data.expires_at,
      digest: jsonDigest(ownJson),
    };

    // Campaign control that needs no Redis: expired, not yet (--at), outside the recipient's send window.
    // A message that must wait is delayed without a request or an attempt spent; the grant checks the
    // expiry again as the request leaves.
    const now = Date.now();
    if (job.data.expires_at !== undefined && now >= job.data.expires_at) {
      // A FREQUENCY_CAP place taken before a wait (pacing, a pair interval) that outlasted it goes back.
      if (payload.body.type === 'template') await deps.fatigue?.release(requestId, to);
      await skip(requestId, campaign, 'expired');
      stats.skipped('expired');
      return 'skipped';
    }
    const waitMs = Math.max(
      (job.data.not_before ?? 0) - now,
      job.data.window ? msUntilOpen(now, job.data.window.tz, job.data.window) : 0,
    );
    if (waitMs > 0) {
      // Never later than the expiry: an expired message ends as soon as it expires, paused or not.
      await job.moveToDelayed(Math.min(now + waitMs, job.data.expires_at ?? Number.POSITIVE_INFINITY), token);
      throw new DelayedError();
    }
    // Marketing fatigue, before the grant (fatigue-step.ts): a place it takes is given back wherever the
    // message ends up not sent.
    const giveBack =
      fatigueStep && payload.body.type === 'template'
        ? await fatigueStep({ job, token, requestId, to, template: payload.body.template, now })
        : giveNothingBack;
    if (giveBack === 'capped') {
      await skip(requestId, campaign, 'frequency_cap');
      stats.skipped('frequency_cap');
      return 'skipped';
    }

    // The first grant request also reads the ledger (one round trip): a message already sent or dead needs
    // no request, and one that was in flight when a worker died follows AMBIGUOUS_OUTCOME.
    let check: LedgerCheck = config.AMBIGUOUS_OUTCOME === 'dead-letter' ? 'settled-or-inflight' : 'settled';
    let ticket: Ticket | undefined;
    const hooks: AttemptHooks = {
      beforeAttempt: async () => {
        ticket = await grantSpan(() => gate.acquire(request, check));
        check = 'none';
        unsettled?.add(requestId);
        if (ticket.waitedMs >= 1) stats.waited(ticket.waitedMs);
      },
      afterAttempt: async (report) => {
        // Answered with a failure: no longer in flight (an accepted one is until its job ends).
        if (!report.ok) unsettled?.delete(requestId);
        stats.request(report.durationMs, report.ok ? 200 : report.error?.httpStatus);
        if (!ticket) return;
        const policy = report.error && policyOf(report.error);
        if (policy?.retryInProcess) stats.retry();
        // The outage breaker counts EngageLab's failures only; a request known not to have been accepted
        // is no longer in flight.
        if (policy?.outage) {
          // What a failed request that cannot have been accepted clears: its in-flight mark and its pair key.
          const notSent = policy.notSent
            ? { messageKey: ledger.keys.message(requestId), pairKey: ledger.keys.pair(gate.lane, to) }
            : undefined;
          const cooldownMs = await gate.breaker.report(ticket, false, notSent);
          if (cooldownMs > 0)
            await audit.note({
              actor: 'system:outage-breaker',
              action: 'sending.hold',
              params: { cooldown_ms: cooldownMs, error: report.error?.message },
            });
        } else await gate.breaker.report(ticket, true);
      },
    };

    for (;;) {
      try {
        const result = await client.send(payload, hooks, json);
        const sent = await settleSpan(queueName, requestId, 'sent', () =>
          ledger.markSent(requestId, campaign, result.messageId),
        );
        if (sent === 'orphans') {
          await deps.delivery.adopt(result.messageId, requestId, campaign);
        }
        stats.sent(gate.lane);
        return 'sent';
      } catch (error) {
        if (error instanceof SettledSignal) {
          if (error.state === 'dead') await giveBack();
          if (error.state !== 'inflight') return error.state;
          return fail(job, {
            code: null,
            http_status: null,
            reason: 'unknown_outcome',
            message: 'a worker stopped while this request was in flight; not resent',
          });
        }
        if (error instanceof TamperedSignal) {
          await giveBack();
          return tampered(job, error);
        }
        if (error instanceof PausedSignal) {
          // Paused (by an operator or an auth failure) or shutting down: back to the queue, attempts kept.
          await job.moveToWait(token);
          throw new WaitingError();
        }
        if (error instanceof WaitSignal) {
          // Its pair interval, or a place under the messaging limit: later, without an attempt spent. Held
          // messages wake spread over a second, not all at the instant a place frees.
          await job.moveToDelayed(
            Date.now() + error.ms + (error.reason === 'limit' ? Math.floor(Math.random() * 1000) : 0),
            token,
          );
          throw new DelayedError();
        }
        if (error instanceof CampaignSignal) {
          await giveBack();
          if (error.state === 'cancelled') {
            await skip(requestId, campaign, 'cancelled');
            stats.skipped('cancelled');
            return 'skipped';
          }
          await deps.campaigns.park(job, campaign, token, job.data.expires_at);
          throw new DelayedError();
        }
        if (error instanceof SkipSignal) {
          await giveBack();
          await skip(requestId, campaign, error.reason);
          stats.skipped(error.reason);
          return 'skipped';
        }
        if (!EngageLabError.is(error)) {
          // Not EngageLab's answer (Redis at the gate, a bug): BullMQ retries it; on its last attempt the
          // message ends unsent, so its place goes back (if Redis lets it: else the window frees it).
          if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await giveBack().catch(() => {});
          throw error;
        }
        switch (decide(error, config.AMBIGUOUS_OUTCOME)) {
          case 'hold': {
            const waitMs = error.retryAfterMs ?? 1000;
            stats.rateLimited();
            log.warn({ retry_after_ms: waitMs }, 'EngageLab answered 429: every worker waits');
            await gate.breaker.slowDown(waitMs);
            continue;
          }
          case 'dead_letter':
            await giveBack(error);
            return fail(job, deadErrorOf(error, policyOf(error).reason ?? 'permanent'));
          case 'pause': {
            await ledger.clearInflight(requestId);
            const reason = `auth: EngageLab ${error.code ?? error.httpStatus} ${error.message}`;
            await pauseSending(deps.redis, ledger.keys, reason, 'system:workers');
            await audit.note({ actor: 'system:send-worker', action: 'sending.pause', params: { reason } });
            log.error(
              { code: error.code },
              `sending paused: ${reason}; fix the credentials, then run "wa-bulk resume"`,
            );
            await job.moveToWait(token);
            throw new WaitingError();
          }
          case 'retry_later':
            return retryLater(job, error, token, giveBack);
        }
      }
    }
  };

  async function retryLater(
    job: Job<SendJobData>,
    error: EngageLabError,
    token: string | undefined,
    giveBack: GiveBack,
  ): Promise<'dead' | 'sent'> {
    const { gateMs, tripped } = await gate.breaker.state();
    if (tripped) {
      // An outage: give the attempt back and come back when the cool-down ends.
      await job.moveToDelayed(Date.now() + Math.max(gateMs, config.OUTAGE_COOLDOWN_MS), token);
      throw new DelayedError();
    }
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (!last) throw error;
    await giveBack(error);
    return fail(job, deadErrorOf(error, 'retries_exhausted'));
  }
}
