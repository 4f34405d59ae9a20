import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { startSendWorker } from '../../../workers/send-worker.js';
import { parse } from '../args.js';

/** Runs until SIGTERM/SIGINT, then stops taking jobs, finishes those in flight and exits 0. */
export async function run(argv: string[]): Promise<number> {
  parse(argv, {}, false);
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
  const worker = await startSendWorker(config, log);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log.info('shutting down: finishing the sends in flight');
  await worker.close();
  log.info({ gated_waits: worker.gate.gatedWaits, late_grants: worker.gate.lateGrants }, 'worker stopped');
  return 0;
}
