import { hostname } from 'node:os';
import { Worker } from 'bullmq';
import type { Config } from '../src/config.js';
import { requireCredentials } from '../src/config.js';
import { DeliveryLedger } from '../src/delivery.js';
import { EngageLabClient } from '../src/engagelab/client.js';
import { Housekeeping } from '../src/housekeeping.js';
import { Ledger } from '../src/ledger.js';
import { settleWithin } from '../src/lifecycle.js';
import type { Logger } from '../src/log.js';
import { RedisHealth } from '../src/redis-health.js';
import { SEND_QUEUE, deadQueue, keys, sendQueue, workerConnection, type SendJobData } from '../src/queue.js';
import { SendGate } from './send-gate.js';
import { createSendProcessor } from './send-processor.js';
import { WorkerStats } from './worker-stats.js';

export interface SendWorker {
  worker: Worker<SendJobData>;
  gate: SendGate;
  health: RedisHealth;
  /** Stop taking jobs, finish those in flight (jobs still waiting at the gate go back to the queue). */
  close(): Promise<void>;
}

export async function startSendWorker(config: Config, log: Logger): Promise<SendWorker> {
  const credentials = requireCredentials(config);
  const k = keys(config.QUEUE_PREFIX);
  // One line when Redis goes away, one when it is back; the fleet's metrics count the losses (the
  // callback runs on a reconnection, after `stats` below exists).
  const health = new RedisHealth(log, () => stats.redisDisconnect());
  const redis = health.watch(workerConnection(config));
  const ledger = new Ledger(redis, config.QUEUE_PREFIX, config.RESULT_TTL_DAYS);
  const gate = new SendGate(redis, k, {
    max: config.SEND_RATE_MAX,
    windowMs: config.SEND_RATE_DURATION_MS,
    outageThreshold: config.OUTAGE_THRESHOLD,
    cooldownMs: config.OUTAGE_COOLDOWN_MS,
    cooldownMaxMs: config.OUTAGE_COOLDOWN_MAX_MS,
    probeTtlMs: config.HTTP_TIMEOUT_MS + 1000,
    id: `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
  });
  const client = new EngageLabClient({
    baseUrl: config.ENGAGELAB_BASE_URL,
    key: credentials.key,
    secret: credentials.secret,
    timeoutMs: config.HTTP_TIMEOUT_MS,
    retries: config.RETRY_RETRIES,
    minRetryMs: config.RETRY_MIN_MS,
    maxRetryMs: config.RETRY_MAX_MS,
    maxSockets: config.WORKER_CONCURRENCY,
  });
  const stats = new WorkerStats(redis, k.metrics);
  stats.start();
  const send = sendQueue(config, redis);
  const dead = deadQueue(config, redis);
  health.absorb(send, 'send queue');
  health.absorb(dead, 'dead-letter queue');
  const housekeeping = new Housekeeping(redis, k, dead, config.RESULT_TTL_DAYS * 86_400_000, log);
  const delivery = new DeliveryLedger(redis, ledger);
  const processor = createSendProcessor({ config, ledger, gate, client, sendQueue: send, deadQueue: dead, redis, log, stats, delivery });

  // BullMQ blocks on this connection while waiting for jobs, so it gets its own.
  const blocking = health.watch(workerConnection(config));
  const worker = new Worker<SendJobData>(SEND_QUEUE, processor, {
    connection: blocking,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    // A job of a dead worker is taken over after about WORKER_LOCK_MS.
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_LOCK_MS,
    // A job that stalls because its worker died is taken over, never failed: the ledger's in-flight
    // mark, not a stall count, decides whether it may be sent.
    maxStalledCount: 1_000_000,
    autorun: true,
  });
  health.absorb(worker, 'worker');
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade < (job.opts.attempts ?? 1)) {
      log.debug({ request_id: job.data.request_id, attempt: job.attemptsMade, err: error.message }, 'send failed; BullMQ will retry');
    }
  });
  await worker.waitUntilReady();
  housekeeping.start();
  log.info({ concurrency: config.WORKER_CONCURRENCY, rate: `${config.SEND_RATE_MAX}/${config.SEND_RATE_DURATION_MS}ms`, api: config.ENGAGELAB_BASE_URL }, 'send worker started');

  let closing: Promise<void> | undefined;
  return {
    worker,
    gate,
    health,
    close() {
      closing ??= (async () => {
        gate.close();
        // In-flight sends finish (an HTTP request takes at most HTTP_TIMEOUT_MS). With Redis away their
        // ledger writes cannot, so the close is forced (BullMQ would otherwise wait for Redis); their jobs
        // are taken over after WORKER_LOCK_MS and their in-flight marks make them unknown outcomes, never
        // resends.
        const finished = await settleWithin(worker.close(!health.connected), config.HTTP_TIMEOUT_MS + 2000);
        health.stop();
        if (!finished) log.warn('stopped without finishing every send: Redis did not answer');
        await settleWithin(Promise.all([stats.stop(), housekeeping.stop()]), 1000);
        client.close();
        await settleWithin(Promise.all([send.close(), dead.close()]), 1000);
        redis.disconnect();
        blocking.disconnect();
      })();
      return closing;
    },
  };
}
