import { loadConfig } from '../../config.js';
import { startDashboard } from '../../http/dashboard.js';
import { DashboardConfigError } from '../../http/security.js';
import { exitIfStuck, untilSignal } from '../../lifecycle.js';
import { createLogger } from '../../log.js';
import { UsageError, parse } from '../args.js';
import { DASHBOARD } from './dashboard.decl.js';

export async function run(argv: string[]): Promise<number> {
  parse(DASHBOARD, argv);
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'dashboard' });
  const dashboard = await startDashboard(config, log).catch((error: unknown) => {
    throw error instanceof DashboardConfigError ? new UsageError(error.message) : error;
  });
  process.stderr.write(`dashboard: ${dashboard.url}/queues   metrics: ${dashboard.url}/metrics\n`);
  await untilSignal();
  exitIfStuck(10_000, () => log.error('shutdown did not finish in time; exiting'));
  await dashboard.close();
  return 0;
}
