import { type Config, loadConfig } from '../../config.js';
import { exitIfStuck, onSecondSignal, untilSignal } from '../../lifecycle.js';
import { createLogger } from '../../log.js';
import { startSendWorker } from '../../../workers/send-worker.js';
import { startFollowupWorker } from '../../../workers/followup-worker.js';
import { parse } from '../args.js';
import { WORKER } from './worker.decl.js';

/**
 * Runs until SIGTERM/SIGINT, then stops taking jobs, finishes those in flight and exits 0. A second signal
 * exits at once (130 or 143) and says how many requests it leaves in flight.
 */
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
  // Follow-up rules come due in whichever worker process is running (docs/campaigns.md#follow-ups).
  const followups = startFollowupWorker(config, log, worker.health);
  const signal = await signalled;
  log.info({ signal }, 'shutting down: finishing the sends in flight (a second signal exits at once)');
  onSecondSignal((second) => {
    const inFlight = worker.inFlight();
    log.warn({ signal: second, in_flight: inFlight }, `second signal: exiting now; ${abandoned(inFlight, config)}`);
  });
  // close() is bounded by itself (the HTTP timeout, then short waits on Redis); this is the backstop.
  exitIfStuck(config.HTTP_TIMEOUT_MS + 10_000, () => log.error('shutdown did not finish in time; exiting'));
  await Promise.all([worker.close(), followups.close()]);
  const { gatedWaits, lateGrants, regrantedGrants } = worker.gateStats();
  log.info({ gated_waits: gatedWaits, late_grants: lateGrants, regranted_grants: regrantedGrants }, 'worker stopped');
  return 0;
}

/** What becomes of the requests a worker leaves in flight (their answers are lost with the process). */
function abandoned(count: number, config: Pick<Config, 'AMBIGUOUS_OUTCOME'>): string {
  if (count === 0) return 'no request was in flight';
  const requests = count === 1 ? '1 request in flight' : `${count} requests in flight`;
  return config.AMBIGUOUS_OUTCOME === 'resend'
    ? `${requests} will be sent again (AMBIGUOUS_OUTCOME=resend)`
    : `${requests} will be recorded as unknown outcome`;
}
