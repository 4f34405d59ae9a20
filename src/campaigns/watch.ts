import { Campaigns } from './campaigns.js';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Logger } from '../log.js';
import { WEBHOOK_JOB_OPTIONS, WEBHOOK_QUEUE, type WebhookJob, openQueue } from '../queue.js';
import type { Keys } from '../redis/keys.js';

/**
 * Campaign completion. The dashboard process looks at the campaigns that still have messages to send (a
 * set the producers add to) every WATCH_MS; one that has nothing left (done, or cancelled) is marked done
 * once (`done_at`, HSETNX, so that two dashboards report it once) and, with CAMPAIGN_WEBHOOK_URL set, a
 * `campaign.done` job goes on the `webhooks` queue. Its worker POSTs
 * `{"event":"campaign.done","campaign":{…the status --json campaign object…}}`, retried with a backoff
 * (WEBHOOK_JOB_OPTIONS): sending never waits on it.
 */

const WATCH_MS = 2000;
const WEBHOOK_TIMEOUT_MS = 10_000;

export interface CampaignWatch {
  webhooks: Queue<WebhookJob>;
  close(force: boolean): Promise<void>;
}

export function startCampaignWatch(deps: {
  config: Config;
  redis: Redis;
  blocking: Redis;
  keys: Keys;
  ledger: Ledger;
  log: Logger;
  onError: (error: Error) => void;
}): CampaignWatch {
  const { config, redis, keys, ledger, log } = deps;
  const webhooks = openQueue<WebhookJob>(redis, config.QUEUE_PREFIX, WEBHOOK_QUEUE, WEBHOOK_JOB_OPTIONS);
  webhooks.on('error', deps.onError);

  const campaigns = new Campaigns(redis, keys);
  const look = async () => {
    for (const id of await redis.smembers(keys.campaignsOpen)) {
      const counts = await ledger.campaign(id);
      if (!counts) {
        await redis.srem(keys.campaignsOpen, id);
        continue;
      }
      if (counts.state !== 'done' && counts.state !== 'cancelled') continue;
      // A cancelled campaign had its campaign.cancelled: campaign.done is for one that sent everything.
      const done = counts.state === 'done' ? { ...counts, by: 'system:watch' } : undefined;
      if (await campaigns.markDone(id, done)) {
        log.info(
          { campaign: id, state: counts.state, sent: counts.sent, dead: counts.dead, skipped: counts.skipped },
          'campaign done',
        );
        if (config.CAMPAIGN_WEBHOOK_URL) await webhooks.add('campaign.done', { campaign: id }, { jobId: `done-${id}` });
      }
      await redis.srem(keys.campaignsOpen, id);
    }
  };
  let looking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    looking = looking.then(look).catch(() => {
      // Redis away: RedisHealth has said so; the next round looks again.
    });
  }, WATCH_MS);
  timer.unref();

  const worker = new Worker<WebhookJob>(
    WEBHOOK_QUEUE,
    async (job: Job<WebhookJob>) => {
      const campaign = await ledger.campaign(job.data.campaign);
      if (!campaign || !config.CAMPAIGN_WEBHOOK_URL) return 'gone';
      const res = await fetch(config.CAMPAIGN_WEBHOOK_URL, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'wa-bulk' },
        body: JSON.stringify({ event: 'campaign.done', campaign }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`campaign.done webhook answered HTTP ${res.status}`);
      return 'delivered';
    },
    { connection: deps.blocking, prefix: config.QUEUE_PREFIX, concurrency: 2 },
  );
  worker.on('error', deps.onError);
  worker.on('failed', (job, error) =>
    log.warn(
      { campaign: job?.data.campaign, attempt: job?.attemptsMade, err: error.message },
      'campaign.done webhook failed; retrying with backoff',
    ),
  );

  return {
    webhooks,
    async close(force: boolean) {
      clearInterval(timer);
      await looking.catch(() => {});
      await worker.close(force);
      await webhooks.close();
    },
  };
}
