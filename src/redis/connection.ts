import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';

/**
 * Every Redis connection of wa-bulk comes from here: a client of REDIS_URL, or with REDIS_CLUSTER_NODES a
 * Redis Cluster client, which follows MOVED and ASK redirections (slot moves, failovers) and retries TRYAGAIN
 * while a slot migrates. The cluster client answers the same commands, so the rest of the code takes either
 * as `Redis`. A cluster's credentials are REDIS_URL's user and password, when it has any.
 */
export function redisClient(config: Config, options: RedisOptions = {}): Redis {
  if (!config.REDIS_CLUSTER_NODES) return new Redis(config.REDIS_URL, options);
  const { retryStrategy, lazyConnect, ...redisOptions } = options;
  const url = new URL(config.REDIS_URL);
  const cluster = new Cluster(config.REDIS_CLUSTER_NODES, {
    ...(lazyConnect !== undefined && { lazyConnect }),
    ...(retryStrategy && { clusterRetryStrategy: (times: number) => retryStrategy(times) ?? null }),
    retryDelayOnMoved: 0,
    retryDelayOnTryAgain: 100,
    retryDelayOnClusterDown: 300,
    slotsRefreshTimeout: 2000,
    redisOptions: {
      ...redisOptions,
      ...(url.username && { username: decodeURIComponent(url.username) }),
      ...(url.password && { password: decodeURIComponent(url.password) }),
    },
  });
  return cluster as unknown as Redis;
}

/** Where wa-bulk's Redis is, for messages (no password). */
export function redisWhere(config: Config): string {
  return config.REDIS_CLUSTER_NODES
    ? `the Redis Cluster at ${config.REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',')}`
    : safeRedisUrl(config.REDIS_URL);
}

/** The reconnect backoff of every long-running process: 200 ms more each attempt, at most 5 s apart, forever. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(200 * attempt, 5000);
}

/** Workers block on Redis and must survive a restart of it: retry forever. */
export function workerConnection(config: Config, extra: RedisOptions = {}): Redis {
  return redisClient(config, {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: reconnectDelayMs,
    ...extra,
  });
}

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

/**
 * Producers and short commands fail fast when Redis is down instead of hanging: a few connection
 * attempts, then a clear error naming the URL (without its password).
 */
export async function producerConnection(config: Config, extra: RedisOptions = {}): Promise<Redis> {
  const client = redisClient(config, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 2,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
    ...extra,
  });
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new RedisUnavailableError(
      `cannot reach Redis at ${redisWhere(config)}: ${(lastError ?? (error as Error)).message}`,
    );
  }
  return client;
}

/** The URL without its password, for messages and logs. */
export function safeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis://(invalid URL)';
  }
}
