import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { Ledger } from '../ledger.js';
import type { Logger } from '../log.js';
import { deadQueue, keys, safeRedisUrl, sendQueue } from '../queue.js';
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
  const app = createDashboardApp({
    config,
    log,
    redis,
    keys: keys(config.QUEUE_PREFIX),
    ledger: new Ledger(redis, config.QUEUE_PREFIX, config.RESULT_TTL_DAYS),
    send,
    dead,
  });
  const { server, url } = await listen(app, config).catch((error: unknown) => {
    redis.disconnect();
    throw error;
  });
  log.info({ url, access: config.DASHBOARD_PASSWORD ? 'basic auth' : 'loopback only' }, 'dashboard listening');
  return {
    url,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([send.close(), dead.close()]);
      redis.disconnect();
    },
  };
}
