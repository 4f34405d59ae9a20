import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { openBench } from './harness.js';
import { archiveStep } from './steps/archive.js';
import { callbacksStep } from './steps/callbacks.js';
import { enqueueStep } from './steps/enqueue.js';
import { lanesStep } from './steps/lanes.js';
import { limiterStep } from './steps/limiter.js';
import { webhooksStep } from './steps/webhooks.js';
import { realisticStep } from './steps/realistic.js';
import { scriptsStep } from './steps/scripts.js';
import { workersStep } from './steps/workers.js';

/**
 * npm run bench -- [--json] [--messages N] [--jobs N] [--concurrency N] [--limit N] [--million] [--small]
 *                    [--callbacks N] [--webhooks N] [--rounds N]
 *                    [--only enqueue,workers,limiter,lanes,archive,callbacks,webhooks,realistic,scripts]
 *
 * One run, one machine, one private Redis, the simulator in its own process:
 *  1. enqueue: N JSONL messages through the producer (parse, validate, request_id, dedupe, ledger + job): msgs/s, peak RSS
 *  2-4. bare BullMQ / naive axios peer / wa-bulk worker, each in its own process, at 0 and 100 ms latency
 *  6. rate limiter precision: one, then two wa-bulk worker processes under one limit, measured at the simulator
 *  7. sender lanes: four numbers at a quarter of the limit each under the limit as the account's cap
 *  8. the long-term ledger (a private PostgreSQL): enqueue and send without and with DATABASE_URL, Redis bytes
 *     per settled message after the hot TTL, the archive's lag at the limit, its catch-up after an outage
 *  9. delivery callbacks: N messages' status rows (3 each) posted to one dashboard in EngageLab's batches of
 *     100, 4 posts at a time: rows/s applied and answer times
 * 10. webhooks: N messages sent, delivered and read without and with a webhook endpoint (the change feed's Redis
 *     CPU per event and bytes per entry), then their events delivered to a local receiver, one a request and
 *     in batches of 100, and beside a slow endpoint (answering after 200 ms): events/s
 * 11. realistic: a campaign of templates, media and text from four numbers at 20 ms and 100 in flight, naive,
 *     bare and wa-bulk side by side `--rounds` times (msgs/s beside the ceiling, CPU, Redis time and bytes per
 *     message), then wa-bulk's Redis time per message by command and script at 0 and 20 ms
 * 12. scripts (only with --only): `--jobs` messages granted (grant-sends.lua, asks of 32) and settled as sent (settle-messages.lua,
 *     calls of 25) through the worker's gate and ledger, no HTTP: Redis CPU and commands per message of each,
 *     `--rounds` times
 *
 * The steps are in steps/, what they share (the private Redis, the simulator, the measured children) in harness.ts.
 */

const { values } = parseArgs({
  options: {
    json: { type: 'boolean' },
    messages: { type: 'string' },
    jobs: { type: 'string' },
    concurrency: { type: 'string' },
    million: { type: 'boolean' },
    small: { type: 'boolean' },
    only: { type: 'string' },
    limit: { type: 'string' },
    callbacks: { type: 'string' },
    webhooks: { type: 'string' },
    rounds: { type: 'string' },
  },
});
const small = values.small === true;
const messages = values.million ? 1_000_000 : Number(values.messages ?? (small ? 2000 : 100_000));
const jobs = Number(values.jobs ?? (small ? 1000 : 20_000));
const concurrency = Number(values.concurrency ?? 200);
const STEPS = ['enqueue', 'workers', 'limiter', 'lanes', 'archive', 'callbacks', 'webhooks', 'realistic', 'scripts'];
// The scripts step is a closer look at two figures of the others: only when asked for.
const steps = new Set((values.only ?? STEPS.filter((step) => step !== 'scripts').join(',')).split(','));
for (const step of steps)
  if (!STEPS.includes(step)) throw new Error(`--only: unknown step "${step}" (${STEPS.join(', ')})`);
const limit = Number(values.limit ?? (small ? 200 : 1000));
const perLimitRun = small ? 1000 : 20_000;
const callbackMessages = Number(values.callbacks ?? (small ? 1000 : 30_000));
const webhookMessages = Number(values.webhooks ?? (small ? 1000 : 10_000));
const rounds = Number(values.rounds ?? (small ? 1 : 2));
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds: expected a whole number from 1, not "${values.rounds}"`);
const log = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};

const bench = await openBench(log);
const report: Record<string, unknown> = {
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  sizes: { messages, jobs, concurrency },
};

log(`wa-bulk benchmark: ${cpus().length} cores, Node ${process.version}, private Redis at ${bench.redisUrl}`);
try {
  if (steps.has('enqueue')) report.enqueue = await enqueueStep(bench, messages);
  if (steps.has('workers')) report.workers = await workersStep(bench, jobs, concurrency);
  if (steps.has('limiter')) report.rate_limiter = await limiterStep(bench, limit, perLimitRun);
  if (steps.has('lanes')) report.lanes = await lanesStep(bench, limit, perLimitRun);
  if (steps.has('archive')) {
    const run = await archiveStep(bench, jobs, concurrency, limit);
    if (run) report.archive = run;
  }
  if (steps.has('callbacks')) report.callbacks = await callbacksStep(bench, callbackMessages);
  if (steps.has('webhooks')) report.webhooks = await webhooksStep(bench, webhookMessages);
  if (steps.has('realistic')) report.realistic = await realisticStep(bench, jobs, rounds);
  if (steps.has('scripts')) report.scripts = await scriptsStep(bench, jobs, rounds);
} finally {
  await bench.close();
}
if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
