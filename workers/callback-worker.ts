import { INBOUND_COUNTER, Inbound } from '../src/recipients/inbound.js';
import { fleetCountsInto } from '../src/status/fleet-stats.js';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { resultTtlSeconds, type Config } from '../src/config.js';
import { AuditLog } from '../src/access/audit.js';
import { MESSAGE_STATUSES, RESPONSE_EVENTS, type CallbackRow } from '../src/engagelab/callbacks.js';
import { pauseSending, recordPhoneLimit } from '../src/lanes/fleet.js';
import { DeliveryLedger } from '../src/ledger/delivery-ledger.js';
import { notificationEffect, notificationEventName } from './notifications.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { QualityGuard } from './quality-guard.js';
import { callbackBatchSpan, deliverySpans } from './delivery-spans.js';
import type { Logger } from '../src/log.js';
import { CALLBACK_QUEUE, type CallbackJob, type DeadJobData, type SendJobData } from '../src/queue.js';
import { keys as keysOf } from '../src/redis/keys.js';
import type { Queue } from 'bullmq';

/** Rows applied between two saves of a batch's progress (EngageLab's batches are about 100 rows). */
export const CHUNK_ROWS = 250;
/** How long a batch's progress is kept: its job's retries take a minute at most. */
const PROGRESS_TTL_S = 86_400;

/**
 * Applies callback batches: status rows move each message's delivery forward (through the ledger's
 * message_id → request_id index, or the request_id their custom_args carry when the message_id was never
 * learned) and feed the quality guard (workers/quality-guard.ts), inbound rows open session
 * windows, record opt-outs and link a user's number and business-scoped id (src/recipients/), notifications
 * that mean sending cannot succeed pause sending with their reason, a phone-number
 * tier change is recorded for `status` and MESSAGING_LIMIT=auto.
 *
 * A batch is applied in chunks of CHUNK_ROWS rows; after each, its counts and how far the batch got are written
 * in one transaction ({prefix}:callbacks-progress:<job id>). A job that fails part-way (Redis gone) is tried
 * again from the chunk that failed: the rows before it are not applied or counted twice, and those of that
 * chunk change nothing the second time (a delivery state only moves forward, a session or an opt-out is set
 * again to the same value). Several processes may run this worker on one queue: BullMQ gives each job to one.
 */
export function startCallbackWorker(deps: {
  config: Config;
  redis: Redis;
  blocking: Redis;
  ledger: Ledger;
  send: Queue<SendJobData>;
  /** The dead-letter queue: a message a status callback proves sent loses its dead letter. */
  dead: Queue<DeadJobData>;
  log: Logger;
}): Worker<CallbackJob> {
  const { config, redis, ledger, log } = deps;
  const k = keysOf(config.QUEUE_PREFIX);
  const delivery = new DeliveryLedger(redis, ledger, deps.dead);
  const quality = new QualityGuard(redis, k, config, log, ledger);
  const audit = new AuditLog(redis, k, resultTtlSeconds(config) * 1000);
  const inbound = new Inbound(redis, k, config, log, ledger, audit);

  const applyChunk = async (rows: readonly CallbackRow[]): Promise<Map<string, number>> => {
    const counts = new Map<string, number>();
    const count = (field: string, by = 1) => counts.set(field, (counts.get(field) ?? 0) + by);
    const statusRows = rows.filter((row) => row.status !== undefined);
    for (const row of statusRows)
      if (!MESSAGE_STATUSES.has((row.status as { message_status: string }).message_status))
        count('callback_unknown:message_status');
    const results = await delivery.applyMany(statusRows);
    await deliverySpans(ledger, statusRows, results);
    const outcomes = [];
    for (const [i, applied] of results.entries()) {
      count(`callback_${applied.result}`);
      if (applied.learned) {
        count('callback_learned');
        log.info(
          { request_id: applied.learned.requestId, was: applied.learned.previous },
          'a status callback named a message whose answer was lost: recorded as sent with its message_id',
        );
      }
      if (applied.result === 'applied') outcomes.push({ row: statusRows[i] as CallbackRow, applied });
    }
    for (const effect of await quality.onDeliveries(outcomes)) count(`quality_${effect}`);
    // A status row that names the recipient's business-scoped user id beside the number links the two.
    for (const row of statusRows) if (await inbound.learnFromStatus(row)) count(INBOUND_COUNTER.linked);

    for (const row of rows) {
      if (row.notification) {
        const effect = await notificationEffect(row, (name, language) => ledger.templateInUse(name, language));
        const event = notificationEventName(row.notification.event);
        count(`notification:${event}`);
        if (event === 'unknown') count('callback_unknown:event');
        if (effect.unknownTier) count('callback_unknown:tier');
        if (effect.pause) {
          await pauseSending(redis, k, effect.pause, 'system:callbacks');
          await audit.note({
            actor: 'system:callback-notification',
            action: 'sending.pause',
            params: { event: row.notification.event, reason: effect.pause },
          });
          log.error({ event }, `sending paused: ${effect.pause}`);
        }
        if (effect.record) await recordPhoneLimit(redis, k, effect.record);
      } else if (row.response) {
        count('callback_responses');
        if (typeof row.response.event !== 'string' || !RESPONSE_EVENTS.has(row.response.event))
          count('callback_unknown:event');
        for (const effect of await inbound.apply(row)) count(INBOUND_COUNTER[effect]);
      }
    }
    return counts;
  };

  const processBatch = async (job: Job<CallbackJob>) => {
    const rows = job.data.rows;
    const progressKey = k.callbackProgress(job.id ?? '');
    const from = Number((await redis.get(progressKey)) ?? 0);
    for (let start = from; start < rows.length; start += CHUNK_ROWS) {
      const counts = await applyChunk(rows.slice(start, start + CHUNK_ROWS));
      const next = start + CHUNK_ROWS;
      const done = fleetCountsInto(redis.multi(), k.metrics, counts);
      if (next < rows.length) done.set(progressKey, next, 'EX', PROGRESS_TTL_S);
      else done.del(progressKey);
      await done.exec();
    }
  };

  const worker = new Worker<CallbackJob>(CALLBACK_QUEUE, (job) => callbackBatchSpan(job, () => processBatch(job)), {
    connection: deps.blocking,
    prefix: config.QUEUE_PREFIX,
    concurrency: 4,
  });
  // Its `error` events go to the caller's RedisHealth (see src/http/dashboard.ts).
  return worker;
}
