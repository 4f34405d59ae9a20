import { loadConfig } from '../../config.js';
import { exitIfStuck, untilSignal } from '../../lifecycle.js';
import { createLogger } from '../../log.js';
import { startSendWorker } from '../../../workers/send-worker.js';
import { parse } from '../args.js';
import { WORKER } from './worker.decl.js';

/** Runs until SIGTERM/SIGINT, then stops taking jobs, finishes those in flight and exits 0. */
export async function run(argv: string[]): Promise<number> {
  parse(WORKER, argv);
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  const signalled = untilSignal();
  const started = startSendWorker(config, log);
  const first = await Promise.race([started, signalled]);
  if (typeof first === 'string') {
    // Stopped before Redis ever answered: nothing was taken, nothing is in flight.
    log.info({ signal: first }, 'stopped before the worker could start');
    process.exit(0);
  }
  const worker = first;
  const signal = await signalled;
  log.info({ signal }, 'shutting down: finishing the sends in flight');
  // close() is bounded by itself (the HTTP timeout, then short waits on Redis); this is the backstop.
  exitIfStuck(config.HTTP_TIMEOUT_MS + 10_000, () => log.error('shutdown did not finish in time; exiting'));
  await worker.close();
  const { gatedWaits, lateGrants } = worker.gateStats();
  log.info({ gated_waits: gatedWaits, late_grants: lateGrants }, 'worker stopped');
  return 0;
}
