/** Stops the private redis-server once, whichever project's teardown runs first. */
export default async function globalTeardown(): Promise<void> {
  const handle = globalThis.__waBulkRedis;
  globalThis.__waBulkRedis = undefined;
  await handle?.stop();
}
