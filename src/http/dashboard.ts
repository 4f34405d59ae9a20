import { addFleetCounts } from '../status/fleet-stats.js';
import { startCallbackWorker } from '../../workers/callback-worker.js';
import { WebhookDispatcher } from '../../workers/webhook-dispatcher.js';
import { resultTtlSeconds, type Config } from '../config.js';
import { startCampaignWatch } from '../campaigns/watch.js';
import { Housekeeping } from '../ledger/housekeeping.js';
import { LANE_POLL_MS, Lanes } from '../lanes/lanes.js';
import { archiverFor, ledgerFor } from '../ledger/index.js';
import { settleWithin } from '../lifecycle.js';
import type { Logger } from '../log.js';
import {
  CALLBACK_QUEUE,
  deadQueue,
  sendQueue,
  type CallbackJob,
  openQueue,
  CALLBACK_JOB_OPTIONS,
  FOLLOWUP_QUEUE,
  type FollowupJob,
} from '../queue.js';
import { keys } from '../redis/keys.js';
import { reconnectDelayMs, redisClient } from '../redis/connection.js';
import { RedisHealth } from '../redis/health.js';
import { callbackRoutes } from './callbacks.js';
import { createDashboardApp, listen } from './app.js';
import type { DashboardDeps } from './deps.js';
import { assertListenable } from './security.js';

export interface Dashboard {
  url: string;
  health: RedisHealth;
  close(): Promise<void>;
}

/** How long a close may wait on Redis before the connections are dropped. */
const CLOSE_WAIT_MS = 3000;

/**
 * Starts the dashboard server. Its Redis connection keeps reconnecting with a backoff; requests that need
 * Redis answer 503 meanwhile. The same process applies the delivery callbacks it receives (a callback
 * worker on its own blocking connection), so that a deployment needs no process beyond workers and this.
 */
export async function startDashboard(
  config: Config,
  log: Logger,
  options: Pick<DashboardDeps, 'inspect'> = {},
): Promise<Dashboard> {
  // Refuse a bad address before anything is started that would keep the process alive.
  assertListenable(config);
  const k = keys(config.QUEUE_PREFIX);
  const health = new RedisHealth(
    log,
    () => void addFleetCounts(redis, k.metrics, new Map([['redis_disconnects', 1]])).catch(() => {}),
  );
  const redis = health.watch(redisClient(config, { maxRetriesPerRequest: 1, retryStrategy: reconnectDelayMs }));
  const send = sendQueue(config, redis);
  const dead = deadQueue(config, redis);
  const callbacks = openQueue<CallbackJob>(redis, config.QUEUE_PREFIX, CALLBACK_QUEUE, CALLBACK_JOB_OPTIONS);
  // Follow-up rules waiting for their time, shown read-only in Bull Board (worker processes evaluate them).
  const followups = openQueue<FollowupJob>(redis, config.QUEUE_PREFIX, FOLLOWUP_QUEUE);
  for (const [queue, what] of [
    [send, 'send queue'],
    [dead, 'dead-letter queue'],
    [callbacks, 'callback queue'],
    [followups, 'follow-up queue'],
  ] as const)
    health.absorb(queue, what);
  const ledger = ledgerFor(config, redis);
  // With DATABASE_URL this process, like every worker, drains the ledger's changes into PostgreSQL.
  const archiver = archiverFor(config, redis, ledger, log);
  // This process applies the delivery callbacks it receives (a worker on its own blocking connection)…
  const blocking = health.watch(redisClient(config, { maxRetriesPerRequest: null, retryStrategy: reconnectDelayMs }));
  const callbackWorker = startCallbackWorker({ config, redis, blocking, ledger, send, dead, log });
  health.absorb(callbackWorker, 'callback worker');
  // …and reports finished campaigns (campaign.done webhooks).
  const watch = startCampaignWatch({
    config,
    redis,
    blocking,
    keys: k,
    ledger,
    log,
    onError: (error) => health.error(error, 'webhook worker'),
  });
  // Bull Board follows the lane registry, as the workers do.
  const lanes = new Lanes(redis, k, config);
  const laneListeners: Array<(lanes: string[]) => void> = [];
  const readLanes = () => {
    if (health.connected)
      void lanes.list().then(
        (list) => laneListeners.forEach((listener) => listener(list)),
        () => {},
      );
  };
  const lanesTimer = setInterval(readLanes, LANE_POLL_MS);
  lanesTimer.unref();
  const app = createDashboardApp({
    config,
    log,
    redis,
    health,
    keys: k,
    ledger,
    send,
    dead,
    extraQueues: [callbacks, watch.webhooks, followups],
    onLanes: (listener) => {
      laneListeners.push(listener);
      readLanes();
    },
    publicRoutes: (a) => callbackRoutes(a, { token: config.CALLBACK_TOKEN, queue: callbacks, redis, keys: k, log }),
    ...options,
  });
  const { server, url } = await listen(app, config).catch(async (error: unknown) => {
    clearInterval(lanesTimer);
    await callbackWorker.close(true).catch(() => {});
    await watch.close(true).catch(() => {});
    await ledger.close().catch(() => {});
    redis.disconnect();
    blocking.disconnect();
    throw error;
  });
  const housekeeping = new Housekeeping(redis, k, dead, resultTtlSeconds(config) * 1000, log);
  housekeeping.start();
  archiver?.start();
  // …and delivers the change feed's events to the webhook endpoints (docs/webhooks.md).
  const dispatcher = new WebhookDispatcher(redis, health.watch(redis.duplicate()), k, config, log, {
    campaign: (id) => ledger.campaign(id),
  });
  dispatcher.start();
  log.info({ url, access: config.DASHBOARD_PASSWORD ? 'basic auth' : 'loopback only' }, 'dashboard listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    health,
    close() {
      closing ??= (async () => {
        clearInterval(lanesTimer);
        // The workers below close their connections: that is no lost Redis (health.connected still says
        // whether Redis was there when the close began).
        health.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // A callback batch being applied finishes if Redis answers. With Redis away nothing can be applied:
        // a forced close leaves the batch to be retried (its job keeps its attempts) and drops the
        // connections BullMQ would otherwise keep retrying.
        await settleWithin(
          Promise.all([callbackWorker.close(!health.connected), watch.close(!health.connected)]),
          CLOSE_WAIT_MS,
        );
        await settleWithin(
          Promise.all([
            housekeeping.stop(),
            send.close(),
            dead.close(),
            callbacks.close(),
            followups.close(),
            archiver?.stop(),
            dispatcher.stop(),
          ]),
          1000,
        );
        await settleWithin(ledger.close(), 1000);
        redis.disconnect();
        blocking.disconnect();
      })();
      return closing;
    },
  };
}
