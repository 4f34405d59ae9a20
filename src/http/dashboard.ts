import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startCallbackWorker } from '../../workers/callback-worker.js';
import type { Config } from '../config.js';
import { Ledger } from '../ledger.js';
import type { Logger } from '../log.js';
import { CALLBACK_QUEUE, deadQueue, keys, safeRedisUrl, sendQueue } from '../queue.js';
import { callbackRoutes, type CallbackJob } from './callbacks.js';
import { createDashboardApp, listen } from './server.js';

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

/** Starts the dashboard server. Its Redis connection keeps reconnecting; requests fail fast meanwhile. */
export async function startDashboard(config: Config, log: Logger): Promise<Dashboard> {
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, retryStrategy: (times) => Math.min(200 * times, 5000) });
  redis.on('error', (error: Error) => log.warn({ err: error.message, redis: safeRedisUrl(config.REDIS_URL) }, 'Redis connection error; retrying'));
  const send = sendQueue(config, redis);
  const dead = deadQueue(config, redis);
  const callbacks = new Queue<CallbackJob>(CALLBACK_QUEUE, {
    connection: redis,
    prefix: config.QUEUE_PREFIX,
    defaultJobOptions: { attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: { count: 1000 } },
  });
  const ledger = new Ledger(redis, config.QUEUE_PREFIX, config.RESULT_TTL_DAYS);
  const app = createDashboardApp({
    config,
    log,
    redis,
    keys: keys(config.QUEUE_PREFIX),
    ledger,
    send,
    dead,
    extraQueues: [callbacks],
    publicRoutes: (a) => callbackRoutes(a, { token: config.CALLBACK_TOKEN, queue: callbacks, log }),
  });
  // The dashboard process also applies the callbacks it receives.
  const blocking = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(200 * times, 5000) });
  blocking.on('error', () => {});
  const callbackWorker = startCallbackWorker({ config, redis, blocking, ledger, send, log });
  const { server, url } = await listen(app, config).catch((error: unknown) => {
    redis.disconnect();
    blocking.disconnect();
    throw error;
  });
  log.info({ url, access: config.DASHBOARD_PASSWORD ? 'basic auth' : 'loopback only' }, 'dashboard listening');
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await callbackWorker.close();
      await Promise.all([send.close(), dead.close(), callbacks.close()]);
      redis.disconnect();
      blocking.disconnect();
    },
  };
}
