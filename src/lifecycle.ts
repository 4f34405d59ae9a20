/**
 * Stopping a long-running process in bounded time. A close that waits on Redis (a BullMQ Worker finishing
 * its loop, a ledger write) would wait for as long as Redis is away; one signal must still stop the process.
 */

/** Waits for `work`, at most `ms`; tells whether it settled in time. Its failure counts as settled. */
export async function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves at the first SIGTERM or SIGINT. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/**
 * After a signal: the process exits with code 1 if `stop` has not finished within `ms` (a last resort; the
 * closes themselves are bounded). The timer does not keep the process alive.
 */
export function exitIfStuck(ms: number, onStuck: () => void): void {
  setTimeout(() => {
    onStuck();
    process.exit(1);
  }, ms).unref();
}
