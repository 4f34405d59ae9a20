import { readFileSync } from 'node:fs';
import { loadConfig } from '../../config.js';
import type { TemplateInfo } from '../../engagelab/client.js';
import { createLogger } from '../../log.js';
import { Simulator, type FaultRates } from '../../simulator/simulator.js';
import { UsageError, parse, rateFlag } from '../args.js';
import { SIMULATOR } from './simulator.decl.js';

const FAULT_KINDS = ['error1000', 'html503', 'rateLimit', 'reset', 'slow'] as const;

/** `--faults error1000=0.05,rateLimit=0.01`: the share of requests answered with each fault. */
export function parseFaults(spec: string): FaultRates {
  const faults: FaultRates = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [kind, rate] = part.split('=');
    if (!FAULT_KINDS.includes(kind as (typeof FAULT_KINDS)[number])) {
      throw new UsageError(`--faults: unknown fault "${kind}" (expected ${FAULT_KINDS.join(', ')})`);
    }
    faults[kind as keyof FaultRates] = rateFlag(rate, `faults ${kind}`);
  }
  return faults;
}

/** `--delivery-errors 131048=0.01,130429=0.02`: the share of delivered messages failing with each Meta code. */
export function parseDeliveryErrors(spec: string): Record<number, number> {
  const errors: Record<number, number> = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [code, rate] = part.split('=');
    if (!/^\d{3,7}$/.test(code ?? ''))
      throw new UsageError(`--delivery-errors: expected CODE=SHARE pairs (e.g. 131048=0.01), got "${part}"`);
    errors[Number(code)] = rateFlag(rate, `delivery-errors ${code}`) ?? 0;
  }
  return errors;
}

/** `--templates-file FILE`: a JSON array shaped like EngageLab's GET /v1/templates answer. */
function readTemplates(file: string): TemplateInfo[] {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--templates-file: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  if (
    !Array.isArray(value) ||
    !value.every(
      (t) =>
        typeof t === 'object' &&
        t !== null &&
        typeof t.name === 'string' &&
        typeof t.language === 'string' &&
        typeof t.status === 'string',
    )
  ) {
    throw new UsageError(
      '--templates-file: expected a JSON array of templates with "name", "language" and "status" (as GET /v1/templates answers)',
    );
  }
  return value as TemplateInfo[];
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(SIMULATOR, argv);
  const config = loadConfig();
  const log = createLogger({ level: config.LOG_LEVEL, name: 'simulator' });
  const simulator = new Simulator({
    port: values.port,
    host: values.host,
    key: values.key ?? config.ENGAGELAB_DEV_KEY ?? 'dev_key',
    secret: values.secret ?? config.ENGAGELAB_DEV_SECRET ?? 'dev_secret',
    latencyMs: values['latency-ms'],
    failRate: values['fail-rate'],
    ...(values.faults !== undefined && { faults: parseFaults(values.faults) }),
    slowMs: values['slow-ms'],
    ...(values.templates !== undefined && {
      templates: values.templates
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    }),
    ...(values['templates-file'] !== undefined && { templateCatalog: readTemplates(values['templates-file']) }),
    ...(values.seed !== undefined && { seed: values.seed }),
    recordArrivals: values['record-arrivals'],
    ...(values['callback-url'] !== undefined && { callbackUrl: firstToken(values['callback-url']) }),
    callbackDelayMs: values['callback-delay-ms'],
    ...(values['delivery-errors'] !== undefined && { deliveryErrors: parseDeliveryErrors(values['delivery-errors']) }),
    ...(values['reply-rate'] !== undefined && { replyRate: values['reply-rate'] }),
  });
  const url = await simulator.start();
  log.info(
    { url, latencyMs: simulator.options.latencyMs, failRate: simulator.options.failRate },
    'EngageLab simulator listening; set ENGAGELAB_BASE_URL to this URL',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await simulator.stop();
  log.info(
    { ...simulator.getStats(), ...(simulator.options.callbackUrl && { callbacks: simulator.callbackStats }) },
    'simulator stopped',
  );
  return 0;
}

/**
 * A callback URL whose last path segment lists two tokens (`…/engagelab/new,old`, as compose writes it from
 * CALLBACK_TOKEN during a rotation) is posted to with the first: the dashboard takes either, and a comma is
 * never part of a token.
 */
export function firstToken(url: string): string {
  return url.replace(/\/([^/?#,]*),[^/?#]*$/, '/$1');
}
