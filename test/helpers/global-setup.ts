// Jest loads global setup files as CommonJS, outside its module mapper: import the source file itself.
import { ensureRedis, type RedisHandle } from '../../src/dev/redis-server.ts';

declare global {
  var __waBulkRedis: RedisHandle | undefined;
}

/**
 * Integration and reliability tests run against REDIS_URL when it answers, else against one private
 * redis-server for the whole run.
 */
export default async function globalSetup(globalConfig: { selectProjects?: string[] | null }): Promise<void> {
  const selected = globalConfig.selectProjects;
  if (selected && selected.length > 0 && selected.every((name) => name === 'unit')) return;
  if (globalThis.__waBulkRedis) return;
  let handle: RedisHandle;
  try {
    handle = await ensureRedis(process.env.REDIS_URL);
  } catch (error) {
    console.error(`\n${(error as Error).message}\n`);
    process.exit(1);
  }
  globalThis.__waBulkRedis = handle;
  // Test workers are started after this and inherit the environment.
  process.env.REDIS_URL = handle.url;
}
