import { DelayedError, type Job } from 'bullmq';
import { policyOf, type EngageLabError } from '../src/engagelab/errors.js';
import type { Logger } from '../src/log.js';
import type { SendJobData } from '../src/queue.js';
import type { Fatigue } from '../src/recipients/fatigue.js';
import type { WorkerStats } from '../src/status/fleet-stats.js';

/** How long a message waits when its template's category could not be looked up (no attempt spent). */
const CATEGORY_RETRY_MS = 30_000;

/**
 * Gives a message's FREQUENCY_CAP place back where it ends up not sent (skipped, parked, dead before leaving):
 * with the error that ended it, not when the request may have been accepted (an unknown outcome), where the
 * place stays taken.
 */
export type GiveBack = (error?: EngageLabError) => Promise<void>;

/** What a message that took no place gives back. */
export const giveNothingBack: GiveBack = () => Promise.resolve();

/** What the step needs to know of one message. */
export interface FatigueMessage {
  job: Job<SendJobData>;
  token: string | undefined;
  requestId: string;
  to: string;
  template: { name: string; language: string };
  now: number;
}

/**
 * Marketing fatigue (src/recipients/fatigue.ts), before the send grant: over FREQUENCY_CAP a template message
 * is skipped ('capped'); to a resting recipient it waits, without a request or an attempt, the way a send
 * window waits (the job is delayed and DelayedError thrown, as BullMQ expects); otherwise it goes on with what
 * to give back if it ends up not sent. Undefined when fatigue is off (nothing to check, nothing held).
 */
export function createFatigueStep(fatigue: Fatigue | undefined, log: Logger, stats: WorkerStats) {
  if (!fatigue?.on) return undefined;

  return async function fatigueStep(message: FatigueMessage): Promise<'capped' | GiveBack> {
    const { job, token, requestId, to, template, now } = message;
    const verdict = await fatigue.check(requestId, to, template).catch((error: unknown) => {
      log.warn(
        { request_id: requestId, template: template.name, language: template.language },
        `marketing fatigue could not be checked (${String(error)}); the message waits, without an attempt`,
      );
      return { kind: 'unknown', ms: CATEGORY_RETRY_MS } as const;
    });
    if (verdict.kind === 'capped') return 'capped';
    if (verdict.kind === 'resting' || verdict.kind === 'unknown') {
      if (verdict.kind === 'resting') stats.rested();
      await job.moveToDelayed(Math.min(now + verdict.ms, job.data.expires_at ?? Number.POSITIVE_INFINITY), token);
      throw new DelayedError();
    }
    if (verdict.kind !== 'held') return giveNothingBack;
    return async (error) => {
      if (!error || policyOf(error).notSent) await fatigue.release(requestId, to);
    };
  };
}
