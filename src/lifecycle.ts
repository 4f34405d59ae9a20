import { constants } from 'node:os';

/**
 * Stopping a long-running process in bounded time. A close that waits on Redis (a BullMQ Worker finishing
 * its loop, a ledger write) would wait for as long as Redis is away; one signal must still stop the process,
 * and a second one stops it at once.
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

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** Resolves at the first SIGTERM or SIGINT, and listens no further: a second signal is for onSecondSignal(). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      for (const name of STOP_SIGNALS) process.off(name, first);
      resolve(signal);
    };
    for (const name of STOP_SIGNALS) process.on(name, first);
  });
}

/**
 * After the first signal: a second SIGTERM or SIGINT (a second Ctrl-C) stops the process at once, once
 * `lastWords` has logged what that gives up. The exit code is 128 + the signal's number (130 after SIGINT,
 * 143 after SIGTERM), as a shell reports a process that a signal ended, so a supervisor can tell it from a
 * finished shutdown (0).
 */
export function onSecondSignal(lastWords: (signal: NodeJS.Signals) => void): void {
  const second = (signal: NodeJS.Signals): void => {
    lastWords(signal);
    const code = 128 + constants.signals[signal];
    // The line is written before the process ends (stderr may be a pipe, written asynchronously).
    process.stderr.write('', () => process.exit(code));
    setTimeout(() => process.exit(code), 1000);
  };
  for (const name of STOP_SIGNALS) process.once(name, second);
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
