import { hostname } from 'node:os';
import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { Campaigns } from '../src/campaigns/campaigns.js';
import { type Config, requireCredentials, resultTtlSeconds } from '../src/config.js';
import { DeliveryLedger } from '../src/ledger/delivery-ledger.js';
import { EngageLabClient } from '../src/engagelab/client.js';
import { Housekeeping } from '../src/ledger/housekeeping.js';
import { LANE_POLL_MS, Lanes, RATE_REFRESH_MS, laneRateMax } from '../src/lanes/lanes.js';
import { laneQueueName, deadQueue, type SendJobData, openQueue } from '../src/queue.js';
import { archiverFor, ledgerFor } from '../src/ledger/index.js';
import { startFeedTrimmer } from '../src/events/feed.js';
import { settleWithin } from '../src/lifecycle.js';
import type { Logger } from '../src/log.js';
import { RedisHealth } from '../src/redis/health.js';
import { keys } from '../src/redis/keys.js';
import { workerConnection } from '../src/redis/connection.js';
import { gateOptions, SendGate } from './gate/send-gate.js';
import { createSendProcessor, type SendProcessorDeps } from './send-processor.js';
import { processSpan } from './send-spans.js';
import { WorkerStats } from '../src/status/fleet-stats.js';
import { Fatigue } from '../src/recipients/fatigue.js';
import { TemplateCategories } from '../src/recipients/template-categories.js';

/**
 * A send worker process: one BullMQ Worker and one send gate per sender lane, so that a lane that waits
 * (its own rate, its pause, a backlog the messaging limit holds) keeps only its own jobs waiting. Lanes
 * come from the registry the producers write; a `from` never seen before gets its lane within
 * LANE_POLL_MS, without a restart. The HTTP client, the ledger and the outage breaker are shared.
 */

export interface SendWorker {
  /** The lanes' BullMQ Workers, by lane. */
  workers: ReadonlyMap<string, Worker<SendJobData>>;
  health: RedisHealth;
  /**
   * Times this process waited at the gates (429s, cool-downs), grants it handed back late and late grants
   * given again for their new time.
   */
  gateStats(): { gatedWaits: number; lateGrants: number; regrantedGrants: number };
  /**
   * Requests this process has in flight: granted (which marks the message in flight in the ledger) and not
   * yet answered, or accepted and not yet recorded. Were it to stop now, the worker that takes their jobs
   * over would record them as unknown outcomes.
   */
  inFlight(): number;
  /** Stop taking jobs, finish those in flight (jobs still waiting at a gate go back to their queue). */
  close(): Promise<void>;
}

interface LaneWorker {
  worker: Worker<SendJobData>;
  gate: SendGate;
  queue: Queue<SendJobData>;
}

/** How often low-priority messages are looked at for starving (at most; twice per LOW_PRIORITY_MAX_WAIT_MS). */
const AGING_MS = 30_000;

export async function startSendWorker(config: Config, log: Logger): Promise<SendWorker> {
  const credentials = requireCredentials(config);
  const k = keys(config.QUEUE_PREFIX);
  // One line when Redis goes away, one when it is back; the fleet's metrics count the losses (the
  // callback runs on a reconnection, after `stats` below exists).
  const health = new RedisHealth(log, () => stats.redisDisconnect());
  const redis = health.watch(workerConnection(config));
  // The lanes' Workers share this connection for their commands; each blocks on a duplicate of its own.
  const blocking = health.watch(workerConnection(config));
  const ledger = ledgerFor(config, redis);
  // With DATABASE_URL, every worker process also drains the ledger's changes into PostgreSQL.
  const archiver = archiverFor(config, redis, ledger, log);
  archiver?.start();
  // The change feed grows with every send: this process keeps it within FEED_MAX_ENTRIES, whether or not
  // its readers run.
  const feedTrimmer = startFeedTrimmer(redis, k.archive, config.FEED_MAX_ENTRIES, log);
  const lanes = new Lanes(redis, k, config);
  const client = new EngageLabClient({
    baseUrl: config.ENGAGELAB_BASE_URL,
    key: credentials.key,
    secret: credentials.secret,
    timeoutMs: config.HTTP_TIMEOUT_MS,
    retries: config.RETRY_RETRIES,
    minRetryMs: config.RETRY_MIN_MS,
    maxRetryMs: config.RETRY_MAX_MS,
    maxSockets: config.WORKER_CONCURRENCY,
    transport: config.HTTP_TRANSPORT,
  });
  // Requests in flight: from the grant until a failure answers the request, or, once it is accepted, until
  // its job ends (the ledger has it sent).
  const unsettled = new Set<string>();
  const stats = new WorkerStats(redis, k.metrics);
  stats.start();
  const dead = deadQueue(config, redis);
  health.absorb(dead, 'dead-letter queue');
  const housekeeping = new Housekeeping(redis, k, dead, resultTtlSeconds(config) * 1000, log);
  const shared: Omit<SendProcessorDeps, 'gate'> = {
    config,
    ledger,
    client,
    deadQueue: dead,
    campaigns: new Campaigns(redis, k),
    redis,
    log,
    stats,
    delivery: new DeliveryLedger(redis, ledger),
    fatigue: new Fatigue(redis, k, config, new TemplateCategories((query) => client.listTemplates(query))),
    unsettled,
  };
  const id = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  const running = new Map<string, LaneWorker>();
  const workers = new Map<string, Worker<SendJobData>>();
  let closed = false;

  const startLane = async (lane: string): Promise<void> => {
    const gate = new SendGate(redis, k, gateOptions(config, lane, id));
    const send = createSendProcessor({ ...shared, gate });
    const queueName = laneQueueName(lane);
    const worker = laneWorker(config, queueName, blocking, (job, token) =>
      processSpan(job, queueName, async () => {
        try {
          return await send(job, token);
        } finally {
          // The message's job has ended: recorded, or back in its queue.
          unsettled.delete(job.data.request_id);
        }
      }),
    );
    health.absorb(worker, 'worker');
    worker.on('failed', (job, error) => {
      if (job && job.attemptsMade < (job.opts.attempts ?? 1)) {
        log.debug(
          { request_id: job.data.request_id, attempt: job.attemptsMade, err: error.message },
          'send failed; BullMQ will retry',
        );
      }
    });
    const queue = openQueue<SendJobData>(redis, config.QUEUE_PREFIX, queueName);
    health.absorb(queue, 'send queue');
    running.set(lane, { worker, gate, queue });
    workers.set(lane, worker);
    await worker.waitUntilReady();
  };

  // Low priority never starves: a low message that has waited LOW_PRIORITY_MAX_WAIT_MS is taken next.
  // One process of the fleet does each lane's round (a lock).
  // Declared before the timers that use it run (its lock's length depends on it).
  const agingMs = Math.min(AGING_MS, Math.max(500, config.LOW_PRIORITY_MAX_WAIT_MS / 2));
  const promoteStarving = async (): Promise<void> => {
    for (const lane of running.keys()) {
      const lock = await redis.set(k.laneAging(lane), id, 'PX', Math.max(100, agingMs - 200), 'NX');
      if (!lock) continue;
      const queue = running.get(lane)?.queue;
      const oldest = (await queue?.getJobs(['prioritized'], 0, 499, true)) ?? [];
      // It has waited long enough: it is taken next (the front of the wait list), not behind the backlog.
      for (const job of oldest)
        if (job && Date.now() - job.timestamp >= config.LOW_PRIORITY_MAX_WAIT_MS)
          await job.changePriority({ priority: 0, lifo: true }).catch(() => {});
    }
  };
  const agingTimer = setInterval(() => void promoteStarving().catch(() => {}), agingMs);
  agingTimer.unref();

  // Each lane's rate as this process's gates use it, published for `status`, the dashboard and Bull Board.
  let ratesAt = Number.NEGATIVE_INFINITY;
  const follow = async (): Promise<void> => {
    const before = running.size;
    for (const lane of await lanes.list()) {
      if (closed) return;
      if (!running.has(lane)) await startLane(lane);
    }
    if (running.size === before && Date.now() - ratesAt < RATE_REFRESH_MS) return;
    ratesAt = Date.now();
    const rates = new Map([...running.keys()].map((lane) => [lane, laneRateMax(config, lane)]));
    await lanes.publishRates(id, rates, config.SEND_RATE_DURATION_MS);
  };
  await follow();
  let following: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    following = following.then(follow).catch(() => {
      // Redis away: RedisHealth has said so; the next round looks again.
    });
  }, LANE_POLL_MS);
  timer.unref();
  housekeeping.start();
  log.info(
    {
      concurrency: config.WORKER_CONCURRENCY,
      rate: `${config.SEND_RATE_MAX}/${config.SEND_RATE_DURATION_MS}ms`,
      lanes: [...running.keys()].length,
      api: config.ENGAGELAB_BASE_URL,
    },
    'send worker started',
  );

  let closing: Promise<void> | undefined;
  return {
    workers,
    health,
    gateStats() {
      let gatedWaits = 0;
      let lateGrants = 0;
      let regrantedGrants = 0;
      for (const { gate } of running.values()) {
        gatedWaits += gate.gatedWaits;
        lateGrants += gate.lateGrants;
        regrantedGrants += gate.regrantedGrants;
      }
      return { gatedWaits, lateGrants, regrantedGrants };
    },
    inFlight: () => unsettled.size,
    close() {
      closing ??= (async () => {
        closed = true;
        // From here closed connections are this close's own, not a lost Redis (read before: health.connected).
        health.stop();
        clearInterval(timer);
        clearInterval(agingTimer);
        await settleWithin(following, 1000);
        for (const { gate } of running.values()) gate.close();
        // In-flight sends finish (an HTTP request takes at most HTTP_TIMEOUT_MS). With Redis away their
        // ledger writes cannot, so the close is forced (BullMQ would otherwise wait for Redis); their jobs
        // are taken over (see takeover below) and their in-flight marks make them unknown outcomes, never
        // resends.
        const force = !health.connected;
        const finished = await settleWithin(
          Promise.all([...running.values()].map(({ worker }) => worker.close(force))),
          config.HTTP_TIMEOUT_MS + 2000,
        );
        if (!finished) log.warn('stopped without finishing every send: Redis did not answer');
        feedTrimmer.stop();
        await settleWithin(Promise.all([stats.stop(), housekeeping.stop(), archiver?.stop()]), 1000);
        await settleWithin(ledger.close(), 1000);
        client.close();
        await settleWithin(
          Promise.all([dead.close(), ...[...running.values()].map(({ queue }) => queue.close())]),
          1000,
        );
        redis.disconnect();
        blocking.disconnect();
      })();
      return closing;
    },
  };
}

/**
 * BullMQ's stalled checks, per lane queue, WORKER_LOCK_MS / STALLED_CHECKS_PER_LOCK apart. A Worker renews
 * the locks of its jobs every WORKER_LOCK_MS/4 to WORKER_LOCK_MS/2; a check marks the jobs it finds active,
 * a renewal unmarks them, and the first check that finds a job still marked and its lock expired moves it
 * back to wait, where another worker takes it over. One check of the fleet runs per interval (the checks of
 * other processes that come sooner skip, and wait a whole interval more), so checks run one to two
 * intervals apart, and a dead worker's job is taken over WORKER_LOCK_MS/2 to WORKER_LOCK_MS + 2 intervals
 * after it died: at most 1.2 × WORKER_LOCK_MS (BullMQ's defaults, an interval as long as the lock, allow
 * 3 × WORKER_LOCK_MS). A check costs one short script per lane and process.
 */
const STALLED_CHECKS_PER_LOCK = 10;

function laneWorker(
  config: Config,
  queueName: string,
  connection: Redis,
  processor: (job: Job<SendJobData>, token?: string) => Promise<string | undefined>,
): Worker<SendJobData> {
  return new Worker<SendJobData>(queueName, processor, {
    connection,
    prefix: config.QUEUE_PREFIX,
    concurrency: config.WORKER_CONCURRENCY,
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: Math.round(config.WORKER_LOCK_MS / STALLED_CHECKS_PER_LOCK),
    // A job that stalls because its worker died is taken over, never failed: the ledger's in-flight
    // mark, not a stall count, decides whether it may be sent.
    maxStalledCount: 1_000_000,
    autorun: true,
  });
}
