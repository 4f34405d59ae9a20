import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { Simulator } from '../../simulator/simulator.js';
import { intFlag, parse, rateFlag } from '../args.js';

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      'latency-ms': { type: 'string' },
      'fail-rate': { type: 'string' },
      'slow-ms': { type: 'string' },
      key: { type: 'string' },
      secret: { type: 'string' },
      templates: { type: 'string' },
      seed: { type: 'string' },
    },
    false,
  );
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'simulator' });
  const key = values.key ?? config.ENGAGELAB_DEV_KEY ?? 'dev_key';
  const secret = values.secret ?? config.ENGAGELAB_DEV_SECRET ?? 'dev_secret';
  const simulator = new Simulator({
    port: intFlag(values.port, 'port') ?? 4010,
    host: values.host ?? '127.0.0.1',
    key,
    secret,
    latencyMs: intFlag(values['latency-ms'], 'latency-ms') ?? 0,
    failRate: rateFlag(values['fail-rate'], 'fail-rate') ?? 0,
    slowMs: intFlag(values['slow-ms'], 'slow-ms') ?? 60_000,
    ...(values.templates !== undefined && { templates: values.templates.split(',').map((t) => t.trim()).filter(Boolean) }),
    ...(values.seed !== undefined && { seed: intFlag(values.seed, 'seed') }),
  });
  const url = await simulator.start();
  log.info({ url, latencyMs: simulator.options.latencyMs, failRate: simulator.options.failRate }, 'EngageLab simulator listening; set ENGAGELAB_BASE_URL to this URL');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await simulator.stop();
  log.info(simulator.getStats(), 'simulator stopped');
  return 0;
}
