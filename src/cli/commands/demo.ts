import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { enqueue, scan, type SourceItem } from '../../../producers/enqueue.js';
import { CALLBACK_QUEUE } from '../../queue.js';
import { itemsOfArray, readJsonl } from '../../../producers/jsonl-reader.js';
import { startFollowupWorker } from '../../../workers/followup-worker.js';
import { startSendWorker } from '../../../workers/send-worker.js';
import { loadConfig } from '../../config.js';
import { deadLetters } from '../../ledger/dead-letters.js';
import { startDashboard } from '../../http/dashboard.js';
import type { TemplateInfo } from '../../engagelab/client.js';
import { createLogger } from '../../log.js';
import { preflightFromConfig } from '../../preflight/preflight.js';
import { normalisePhone } from '../../messages/phone.js';
import { packageRoot } from '../../dev/paths.js';
import { freePort, ensureRedis } from '../../dev/redis-server.js';
import { Simulator } from '../../simulator/simulator.js';
import { parse } from '../args.js';
import { openContext } from '../context.js';
import { ProgressLine, bar, fmt } from '../progress.js';
import { DEMO } from './demo.decl.js';

/**
 * The templates of the demo's simulator, as EngageLab's Template API lists them: three approved, and
 * spring_sale (en_US) paused, as examples/templates.json has it. The sample campaign also uses one that does
 * not exist (autumn_promo); preflight rejects the messages of both before anything is sent.
 */
const DEMO_TEMPLATES: TemplateInfo[] = [
  ...['order_update', 'login_code', 'appointment_reminder'].flatMap((name) =>
    ['en', 'en_GB', 'en_US', 'zh_CN'].map((language) => ({
      id: `${name}-${language}`,
      name,
      language,
      status: 'APPROVED',
      category: 'UTILITY',
    })),
  ),
  { id: 'spring_sale-en_US', name: 'spring_sale', language: 'en_US', status: 'PAUSED', category: 'MARKETING' },
];

/**
 * Everything on this machine with no account: Redis (REDIS_URL or a private redis-server), the
 * simulator with a few injected faults, a worker and the dashboard, on the sample campaign in examples/.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(DEMO, argv);
  const base = loadConfig();
  const redis = await ensureRedis(base.REDIS_URL);
  if (redis.private)
    process.stderr.write(`no Redis at ${base.REDIS_URL}: started a private redis-server at ${redis.url}\n`);

  const key = `demo_${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(16).toString('hex');
  const dashboardPort = base.DASHBOARD_PORT === 3000 ? await freePort() : base.DASHBOARD_PORT;
  const callbackPath = base.CALLBACK_TOKEN
    ? `/callbacks/engagelab/${base.CALLBACK_TOKEN.split(',')[0]}`
    : '/callbacks/engagelab';
  const simulator = new Simulator({
    key,
    secret,
    latencyMs: 20,
    failRate: values['fail-rate'],
    slowMs: 4000,
    templateCatalog: DEMO_TEMPLATES,
    callbackUrl: `http://127.0.0.1:${dashboardPort}${callbackPath}`,
    callbackDelayMs: 300,
  });
  const apiUrl = await simulator.start();
  const config = loadConfig({
    overrides: {
      REDIS_URL: redis.url,
      ENGAGELAB_BASE_URL: apiUrl,
      ENGAGELAB_DEV_KEY: key,
      ENGAGELAB_DEV_SECRET: secret,
    },
    // Short timeouts and backoffs so that the faults resolve within the demo; the environment still wins.
    // The media links point at the simulator, on this machine: preflight may fetch them.
    defaults: {
      QUEUE_PREFIX: 'wa-bulk-demo',
      SEND_RATE_MAX: 200,
      SENDER_RATE_MAX: 200,
      SESSION_CHECK: 'enforce',
      PREFLIGHT_ALLOW_PRIVATE: 'true',
      HTTP_TIMEOUT_MS: 2000,
      SEND_ATTEMPTS: 3,
      SEND_BACKOFF_MS: 500,
      RETRY_MIN_MS: 100,
      RETRY_MAX_MS: 500,
      WORKER_CONCURRENCY: 50,
      DASHBOARD_PORT: dashboardPort,
      LOG_LEVEL: 'error',
    },
  });
  const log = createLogger({ level: config.LOG_LEVEL, name: 'demo' });
  const worker = await startSendWorker(config, log);
  // As `wa-bulk worker` does: follow-up rules made against the demo come due here.
  const followups = startFollowupWorker(config, log, worker.health);
  const dashboard = await startDashboard(config, log);
  const ctx = await openContext(config);

  const campaign = `demo-${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
  const file = values.file ?? join(packageRoot(), 'examples', 'demo-campaign.jsonl');
  // Most recipients of the session messages (text, media) have written lately; the rest are skipped with
  // reason no_session (SESSION_CHECK=enforce), without a request.
  const writers = await sessionRecipients(file);
  for (let i = 0; i < writers.length; i += 500) await simulator.inbound(writers.slice(i, i + 500));
  const settled = Date.now() + 10_000;
  while (
    (await ctx.redis.llen(ctx.ledger.keys.bull(CALLBACK_QUEUE, 'wait'))) +
      (await ctx.redis.llen(ctx.ledger.keys.bull(CALLBACK_QUEUE, 'active'))) >
      0 &&
    Date.now() < settled
  )
    await sleep(50);
  process.stdout.write(
    `${fmt(writers.length)} recipients wrote to the business lately (inbound callbacks): their session messages may be sent\n`,
  );

  const started = performance.now();
  // The sample's media links (https://example.com/…) are served by the simulator, so preflight can check them.
  const source = () => viaSimulator(readJsonl(createReadStream(file)), `${apiUrl}/media/`);
  const preflight = preflightFromConfig(config, false);
  await scan(source(), preflight);
  const summary = await enqueue(source(), {
    campaign,
    ledger: ctx.ledger,
    queue: ctx.send,
    waFrom: config.WA_FROM,
    preflight,
  });
  process.stdout.write(
    `preflight: ${preflight.stats.templateLookups} template lookups and ${preflight.stats.linkProbes} link checks for the whole file\n`,
  );
  process.stdout.write(`campaign ${campaign}: ${fmt(summary.accepted)} messages enqueued from ${file}\n`);
  for (const reject of summary.rejects) process.stdout.write(`  line ${reject.line} rejected: ${reject.error}\n`);
  process.stdout.write(
    `sending through the simulator at ${apiUrl} (faults injected: ${(simulator.options.failRate ?? 0) * 100}% of requests)\n`,
  );
  // Two small campaigns beside it: one-time codes that overtake the backlog, and a reminder scheduled 5 s out.
  const otp = `${campaign}-otp`;
  const reminder = `${campaign}-reminder`;
  const extra = (prefix: string, n: number) =>
    itemsOfArray(
      Array.from({ length: n }, (_, i) => ({
        to: `+4474009${String(10_000 + i)}`,
        request_id: `${prefix}-${i}`,
        body: {
          type: 'template',
          template: {
            name: prefix === 'otp' ? 'login_code' : 'appointment_reminder',
            language: 'en',
            components: [{ type: 'body', parameters: [{ type: 'text', text: String(100_000 + i) }] }],
          },
        },
      })),
    );
  await enqueue(extra('otp', 20), {
    campaign: otp,
    ledger: ctx.ledger,
    queue: ctx.send,
    waFrom: config.WA_FROM,
    control: { priority: 'high', expiresAt: Date.now() + 5 * 60_000 },
  });
  const remindAt = Date.now() + 5000;
  await enqueue(extra('reminder', 10), {
    campaign: reminder,
    ledger: ctx.ledger,
    queue: ctx.send,
    waFrom: config.WA_FROM,
    control: { priority: 'normal', notBefore: remindAt },
  });
  process.stdout.write(
    `campaign ${otp}: 20 one-time codes, --priority high (they overtake the backlog), --expires-in 5m\n`,
  );
  process.stdout.write(
    `campaign ${reminder}: 10 reminders, --at ${new Date(remindAt).toISOString()} (${(await ctx.ledger.campaign(reminder))?.state})\n`,
  );

  const progress = new ProgressLine(process.stderr);
  let counts = await ctx.ledger.campaign(campaign);
  const pendingOf = async (id: string) => (await ctx.ledger.campaign(id))?.pending ?? 0;
  while (counts && counts.pending + (await pendingOf(otp)) + (await pendingOf(reminder)) > 0) {
    progress.update(
      `${bar((counts.sent + counts.dead + counts.skipped) / counts.total)} ${fmt(counts.sent)} sent  ${fmt(counts.dead)} dead  ${fmt(counts.skipped)} skipped  ${fmt(counts.pending)} pending`,
    );
    await sleep(200);
    counts = await ctx.ledger.campaign(campaign);
  }
  const seconds = (performance.now() - started) / 1000;
  // How far the main campaign had got when the last one-time code was sent.
  const lastCode = Math.max(...(await collectRecords(ctx.ledger.export(otp))).map((r) => Date.parse(r.updated_at)));
  const codesBefore = (await collectRecords(ctx.ledger.export(campaign))).filter(
    (r) => r.status !== 'pending' && Date.parse(r.updated_at) <= lastCode,
  ).length;
  // Sent ones only: with faults injected, a reminder can also end dead (an unknown outcome).
  const reminders = await collectRecords(ctx.ledger.export(reminder));
  const firstReminder = Math.min(...reminders.filter((r) => r.status === 'sent').map((r) => Date.parse(r.updated_at)));
  const remindersDead = reminders.filter((r) => r.status === 'dead').length;
  progress.done(counts ? `${bar(1)} ${fmt(counts.sent)} sent  ${fmt(counts.dead)} dead` : undefined);
  // Delivery callbacks trail the sends by a second or so; wait for them (at most 10 s).
  const settleBy = Date.now() + 10_000;
  while (
    (simulator.pendingCallbacks > 0 || (await ctx.redis.llen(ctx.ledger.keys.bull(CALLBACK_QUEUE, 'wait'))) > 0) &&
    Date.now() < settleBy
  )
    await sleep(200);
  await sleep(300);
  counts = await ctx.ledger.campaign(campaign);

  const deadByCode = new Map<string, number>();
  for await (const job of deadLetters(ctx.dead, { campaign })) {
    const label = `${job.data.error.code ?? job.data.error.http_status ?? 'no answer'} ${job.data.error.reason}`;
    deadByCode.set(label, (deadByCode.get(label) ?? 0) + 1);
  }
  const sim = simulator.getStats();
  process.stdout.write(
    [
      '',
      `summary of ${campaign}`,
      `  sent          ${fmt(counts?.sent ?? 0)} (each accepted once by the API: ${sim.duplicates === 0 ? 'yes' : `no, ${sim.duplicates} twice`})`,
      `  dead          ${fmt(counts?.dead ?? 0)}${[...deadByCode].map(([label, n]) => `\n    ${label.padEnd(26)} ${n}`).join('')}`,
      `  skipped       ${fmt(counts?.skipped ?? 0)} (no_session: text or media to someone who had not written in 24 hours; no request made)`,
      `  rejected      ${fmt(summary.rejected)} lines`,
      `  delivery      ${fmt(counts?.delivery.delivered ?? 0)} delivered, ${fmt(counts?.delivery.read ?? 0)} read, ${fmt(counts?.delivery.failed ?? 0)} failed (from ${fmt(simulator.callbackStats.rows)} callback rows, some late, repeated or out of order)`,
      `  HTTP requests ${fmt(sim.requests)} (retries included)`,
      `  time          ${seconds.toFixed(1)} s from enqueue to the last outcome, backoffs and timeouts of the faulty ones included: ${Math.round((counts?.sent ?? 0) / seconds)} sent/s (limit ${config.SEND_RATE_MAX} per ${config.SEND_RATE_DURATION_MS} ms)`,
      `  one-time codes ${fmt((await ctx.ledger.campaign(otp))?.sent ?? 0)} sent (high priority); when the last one left, ${fmt(codesBefore)} of the main campaign's ${fmt(summary.accepted)} were done`,
      `  reminders     ${fmt((await ctx.ledger.campaign(reminder))?.sent ?? 0)} sent${remindersDead ? `, ${remindersDead} dead` : ''}${Number.isFinite(firstReminder) ? `, the first ${((firstReminder - remindAt) / 1000).toFixed(1)} s after their --at` : ''}`,
      '',
      `campaigns: ${dashboard.url}/campaigns`,
      '',
    ].join('\n'),
  );

  if (!values.exit) {
    process.stdout.write(
      [
        `dashboard: ${dashboard.url}/campaigns    Bull Board: ${dashboard.url}/queues    metrics: ${dashboard.url}/metrics`,
        `try:       REDIS_URL=${redis.url} QUEUE_PREFIX=${config.QUEUE_PREFIX} node ${join(packageRoot(), 'dist/src/cli/main.js')} status --campaign ${campaign}`,
        'serving the dashboard; Ctrl-C to stop',
        '',
      ].join('\n'),
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  await Promise.all([worker.close(), followups.close()]);
  await dashboard.close();
  await ctx.close();
  await simulator.stop();
  await redis.stop();
  return counts && counts.pending === 0 ? 0 : 1;
}

/** Recipients of the file's non-template messages, four in five of them (those whose number does not end in 3 or 7). */
async function sessionRecipients(file: string): Promise<string[]> {
  const users = new Set<string>();
  for await (const item of readJsonl(createReadStream(file))) {
    const value = item.value as { to?: unknown; body?: { type?: unknown } } | undefined;
    if (!value || value.body?.type === 'template') continue;
    for (const to of Array.isArray(value.to) ? value.to : [value.to]) {
      const phone = typeof to === 'string' ? normalisePhone(to) : undefined;
      if (phone && !/[37]$/.test(phone)) users.add(phone);
    }
  }
  return [...users];
}

async function collectRecords<T>(records: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const record of records) out.push(record);
  return out;
}

/** The sample's links, https://example.com/…, as links to the simulator's media. */
async function* viaSimulator(items: AsyncIterable<SourceItem>, base: string): AsyncGenerator<SourceItem> {
  for await (const item of items) {
    if (item.value === undefined) yield item;
    else yield { ...item, value: JSON.parse(JSON.stringify(item.value).replaceAll('https://example.com/', base)) };
  }
}
