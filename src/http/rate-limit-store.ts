import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisReply } from 'rate-limit-redis';

/**
 * rate-limit-redis's `sendCommand`, over ioredis (standalone or Cluster: a script's key routes it), made to
 * survive what the store itself does not: it loads its scripts once, when the dashboard starts, and a load
 * that fails then (Redis not up yet) would fail every later request. Here a SCRIPT LOAD is answered with the
 * script's SHA-1 without a round trip, and an EVALSHA that Redis does not know (first use, a restarted or
 * failed-over Redis) is run as EVAL, which loads it. The scripts are the library's own, passed through as it
 * sends them; this module holds no script text (wa-bulk's own scripts are the .lua files in src/scripts/).
 */
export function redisCommand(client: Redis) {
  const scripts = new Map<string, string>();
  return async (...args: string[]): Promise<RedisReply> => {
    const [command, ...rest] = args;
    const name = command?.toUpperCase();
    if (name === 'SCRIPT' && rest[0]?.toUpperCase() === 'LOAD' && rest[1] !== undefined) {
      const sha = createHash('sha1').update(rest[1]).digest('hex');
      scripts.set(sha, rest[1]);
      return sha;
    }
    if (name === 'EVALSHA') {
      const [sha, ...tail] = rest;
      try {
        return (await client.call('EVALSHA', sha as string, ...tail)) as RedisReply;
      } catch (error) {
        const script = scripts.get(sha as string);
        if (!/^NOSCRIPT/.test((error as Error).message) || script === undefined) throw error;
        return (await client.call('EVAL', script, ...tail)) as RedisReply;
      }
    }
    return (await client.call(command as string, ...rest)) as RedisReply;
  };
}
