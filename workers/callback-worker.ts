import { Inbound } from '../src/recipients/inbound.js';
import { addFleetCounts } from '../src/status/fleet-stats.js';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config.js';
import { pauseSending, recordPhoneLimit } from '../src/lanes/fleet.js';
import { DeliveryLedger } from '../src/ledger/delivery-ledger.js';
import { notificationEffect, notificationEventName } from './notifications.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { QualityGuard } from './quality-guard.js';
import type { Logger } from '../src/log.js';
import { CALLBACK_QUEUE, type CallbackJob, type DeadJobData, type SendJobData } from '../src/queue.js';
import { keys as keysOf } from '../src/redis/keys.js';
import type { Queue } from 'bullmq';

/**
 * Applies callback batches: status rows move each message's delivery forward (through the ledger's
 * message_id → request_id index, or the request_id their custom_args carry when the message_id was never
 * learned) and feed the quality guard (workers/quality-guard.ts), inbound rows open session
 * windows, notifications that mean sending cannot succeed pause sending with their reason, a phone-number
 * tier change is recorded for `status` and MESSAGING_LIMIT=auto.
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
  const quality = new QualityGuard(redis, k, config, log);
  const inbound = new Inbound(redis, k, config, log);

  const processBatch = async (job: Job<CallbackJob>) => {
    const counts = new Map<string, number>();
    const count = (field: string) => counts.set(field, (counts.get(field) ?? 0) + 1);
    for (const row of job.data.rows) {
      if (row.status) {
        const applied = await delivery.apply(row);
        count(`callback_${applied.result}`);
        if (applied.learned) {
          count('callback_learned');
          log.info(
            { request_id: applied.learned.requestId, was: applied.learned.previous },
            'a status callback named a message whose answer was lost: recorded as sent with its message_id',
          );
        }
        if (applied.result === 'applied')
          for (const effect of await quality.onDelivery(row, applied)) count(`quality_${effect}`);
      } else if (row.notification) {
        const effect = await notificationEffect(row, (name, language) => ledger.templateInUse(name, language));
        count(`notification:${notificationEventName(row.notification.event)}`);
        if (effect.pause) {
          await pauseSending(redis, k, effect.pause);
          log.error({ event: row.notification.event }, `sending paused: ${effect.pause}`);
        }
        if (effect.record) await recordPhoneLimit(redis, k, effect.record);
      } else {
        count('callback_responses');
        for (const effect of await inbound.apply(row)) count(effect === 'session' ? 'sessions_opened' : 'opt_outs');
      }
    }
    await addFleetCounts(redis, k.metrics, counts);
  };

  const worker = new Worker<CallbackJob>(CALLBACK_QUEUE, processBatch, {
    connection: deps.blocking,
    prefix: config.QUEUE_PREFIX,
    concurrency: 4,
  });
  // Its `error` events go to the caller's RedisHealth (see src/http/dashboard.ts).
  return worker;
}
