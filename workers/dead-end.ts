import type { Job, Queue } from 'bullmq';
import type { EngageLabError } from '../src/engagelab/errors.js';
import { deadLetter } from '../src/ledger/dead-letters.js';
import type { Ledger } from '../src/ledger/ledger.js';
import type { Logger } from '../src/log.js';
import { maskPhone } from '../src/messages/phone.js';
import { requestIdOfJob, type DeadError, type DeadJobData, type SendJobData } from '../src/queue.js';
import type { WorkerStats } from '../src/status/fleet-stats.js';
import type { TamperedSignal } from './gate/send-gate.js';
import { settleSpan } from './send-spans.js';

/** A dead letter's error from EngageLab's answer. */
export function deadErrorOf(error: EngageLabError, reason: DeadError['reason']): DeadError {
  return { code: error.code ?? null, http_status: error.httpStatus ?? null, reason, message: error.message };
}

/**
 * How a send job ends unsent: `fail` dead-letters it (unless a status callback has named it sent first),
 * `tampered` dead-letters a job whose data is not its ledger record's.
 */
export function createDeadEnd(deps: {
  deadQueue: Queue<DeadJobData>;
  ledger: Ledger;
  lane: string;
  queueName: string;
  log: Logger;
  stats: WorkerStats;
}) {
  const { deadQueue, ledger, lane, queueName, log, stats } = deps;

  const fail = async (job: Job<SendJobData>, error: DeadError, data = job.data): Promise<'dead' | 'sent'> => {
    const settled = await settleSpan(queueName, data.request_id, 'dead', () =>
      deadLetter(deadQueue, ledger, data, error, job.attemptsMade + 1),
    );
    if (settled === 'sent') {
      // A status callback named it first (its custom_args carry the request_id): EngageLab accepted it.
      stats.sent(lane);
      log.info(
        { request_id: data.request_id, campaign: data.campaign, reason: error.reason },
        'not dead: EngageLab reported it in a status callback, so it is sent',
      );
      return 'sent';
    }
    stats.dead(error.code);
    log.warn(
      {
        request_id: data.request_id,
        campaign: data.campaign,
        to: maskPhone(Array.isArray(data.payload?.to) ? (data.payload.to[0] ?? '') : ''),
        code: error.code,
        reason: error.reason,
      },
      `dead letter: ${error.message}`,
    );
    return 'dead';
  };

  /**
   * A job whose data is not its ledger record's: dead-lettered under the message its job id names, in its
   * recorded campaign (the data's may be the forged part), with the payload as found, for a look. A replay
   * sends it only if that payload is the recorded one: a changed payload is refused again, and the message
   * must be enqueued again from its source.
   */
  const tampered = async (job: Job<SendJobData>, signal: TamperedSignal): Promise<'dead' | 'sent'> => {
    const requestId = requestIdOfJob(job.id ?? String(job.data.request_id));
    const campaign = (await ledger.get(requestId))?.campaign ?? job.data.campaign;
    const found = { ...job.data, request_id: requestId, campaign };
    log.error(
      { request_id: requestId, campaign, differs: signal.differs },
      "a send job's data does not match its ledger record: not sent (changed outside wa-bulk?)",
    );
    const why = `not sent: ${signal.message}; the job was changed outside wa-bulk (enqueue the message again from its source)`;
    return fail(job, { code: null, http_status: null, reason: 'tampered', message: why }, found);
  };

  return { fail, tampered };
}
