import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type express from 'express';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { pauseState } from '../lanes/fleet.js';
import { NO_WORKER, laneRate } from '../lanes/lanes.js';
import { DEFAULT_LANE, laneQueueName, openQueue, type DeadJobData, type SendJobData } from '../queue.js';
import type { Keys } from '../redis/keys.js';
import type { DashboardDeps } from './deps.js';
import { dropUrlCredentials } from './drop-url-credentials.js';

/**
 * Bull Board's view of wa-bulk's queues, told what an operator looks for first:
 * - the send queue's description says why sending is paused (an auth failure, a notification, an operator);
 * - each dead letter is listed as a failed job named by its code and reason, its Error tab holds
 *   EngageLab's code and message, and `died_at` reads as a date;
 * - the dead-letter queue has no consumer by design, so it reports its workers as unknown rather than
 *   warning that none is running.
 * Every queue is read-only here: Bull Board's remove, clean, retry and edit act on BullMQ alone and would
 * leave the ledger saying otherwise; wa-bulk's own commands and API (cancel, dlq replay/purge, pause) act.
 */

/** One sender lane's send queue: its description names the lane and its rate, and why it is paused. */
export class SendQueueAdapter extends BullMQAdapter {
  private pauseReason: string | null = null;
  private about: string;
  private readonly from: string;

  constructor(
    private readonly send: Queue<SendJobData>,
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly lane: string,
    private readonly config: Config,
  ) {
    super(send, { description: 'messages to send', readOnlyMode: true });
    this.from = lane === DEFAULT_LANE ? "EngageLab's default number" : lane;
    this.about = `messages from ${this.from}`;
  }

  // Bull Board asks isPaused() before it reads the description for the same answer: the lane's pause and
  // the rate the fleet's workers use for it.
  override async isPaused(): Promise<boolean> {
    const [paused, fleet, { rate, state }] = await Promise.all([
      super.isPaused(),
      pauseState(this.redis, this.keys),
      laneRate(this.redis, this.keys, this.config, this.lane),
    ]);
    const source = rate.rate_source === 'configuration' ? ` (${NO_WORKER})` : '';
    this.about = `messages from ${this.from}, at most ${rate.rate_max} per ${rate.window_ms} ms${source}`;
    this.pauseReason = paused ? (state.pause_reason ?? fleet.reason ?? 'paused in Bull Board') : null;
    return paused;
  }

  override getDescription(): string {
    if (!this.pauseReason) return this.about;
    const how = this.lane === DEFAULT_LANE ? '"wa-bulk resume"' : `"wa-bulk resume --sender ${this.lane}"`;
    return `${this.about} — PAUSED: ${this.pauseReason} (resume with ${how})`;
  }
}

/** The one line that says why a message died: its code (or HTTP status), reason and EngageLab's message. */
export function deadLetterTitle(data: DeadJobData): string {
  const e = data.error;
  return `${e.code ?? (e.http_status === null ? 'no answer' : `HTTP ${e.http_status}`)} ${e.reason}`;
}

/**
 * A dead letter is a BullMQ job waiting in a queue nobody consumes; to an operator it is a failed
 * message. Bull Board shows them as `failed` (so the overview does not add them to the messages waiting
 * to be sent), without a retry button (a replay must revive the ledger record: `wa-bulk dlq replay`).
 */
export class DeadQueueAdapter extends BullMQAdapter {
  constructor(private readonly dead: Queue<DeadJobData>) {
    super(dead, {
      description: 'dead letters: replay with "wa-bulk dlq replay"',
      allowRetries: false,
      readOnlyMode: true,
    });
    this.setFormatter('name', (job: { data?: DeadJobData; name?: string }) =>
      job.data?.error ? deadLetterTitle(job.data) : (job.name ?? ''),
    );
    this.setFormatter('data', (data: DeadJobData) =>
      typeof data?.died_at === 'number' ? { ...data, died_at: new Date(data.died_at).toISOString() } : data,
    );
  }

  override getJobStatuses(): ReturnType<BullMQAdapter['getJobStatuses']> {
    return ['failed'];
  }

  override async getJobCounts(): ReturnType<BullMQAdapter['getJobCounts']> {
    return { failed: await this.dead.getWaitingCount() };
  }

  override async getJobs(...[, start, end]: Parameters<BullMQAdapter['getJobs']>): Promise<Job[]> {
    return (await super.getJobs(['waiting'], start, end)).map(withFailedReason);
  }

  override async getJob(id: string): Promise<Job | undefined> {
    const job = await super.getJob(id);
    return job ? withFailedReason(job) : job;
  }

  override async clean(_status: Parameters<BullMQAdapter['clean']>[0], graceTimeMs: number): Promise<void> {
    await this.dead.clean(graceTimeMs, 0, 'wait');
  }

  /** Nothing consumes dead letters; "unknown" keeps Bull Board from warning that no worker runs. */
  override async getWorkers(): Promise<null> {
    return null;
  }
}

/** A dead letter waits in its queue, so BullMQ has no failedReason for it: give its error as one. */
function withFailedReason(job: Job): Job {
  const data = job.data as DeadJobData | undefined;
  if (!data?.error) return job;
  const toJSON = job.toJSON.bind(job);
  const failedReason = `${deadLetterTitle(data)}: ${data.error.message}`;
  // Each call returns fresh Job objects; this one is only rendered.
  job.toJSON = () => ({ ...toJSON(), failedReason });
  return job;
}

/**
 * Bull Board at /queues: the default lane's send queue, the dead letters, any extra queues read-only, and each
 * sender lane as the fleet first sees it (without a restart).
 */
export function mountBoard(app: express.Express, deps: DashboardDeps): void {
  const { config } = deps;
  const board = new ExpressAdapter();
  board.setBasePath('/queues');
  const laneQueues = new Map<string, Queue<SendJobData>>();
  const laneAdapter = (lane: string, queue: Queue<SendJobData>) =>
    new SendQueueAdapter(queue, deps.redis, deps.keys, lane, config);
  const bullBoard = createBullBoard({
    queues: [
      laneAdapter(DEFAULT_LANE, deps.send),
      new DeadQueueAdapter(deps.dead),
      ...(deps.extraQueues ?? []).map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
    ],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'wa-bulk' } },
  });
  deps.onLanes?.((lanes) => {
    for (const lane of lanes)
      if (lane !== DEFAULT_LANE && !laneQueues.has(lane)) {
        const queue = openQueue<SendJobData>(deps.redis, config.QUEUE_PREFIX, laneQueueName(lane));
        // Its errors are its connection's: one line while Redis is away, as for the dashboard's other queues.
        deps.health.absorb(queue, 'send queue');
        laneQueues.set(lane, queue);
        bullBoard.addQueue(laneAdapter(lane, queue));
      }
  });
  // Bull Board's page: opened with credentials in its URL it would stay on "Loading" (drop-url-credentials.ts).
  app.use('/queues', (_req, res, next) => {
    const render = res.render.bind(res);
    res.render = ((view: string, options?: object) =>
      render(view, options ?? {}, (error: Error | null, html?: string) => {
        if (error) next(error);
        else res.send((html ?? '').replace('<head>', `<head>${dropUrlCredentials}`));
      })) as typeof res.render;
    next();
  });
  app.use('/queues', board.getRouter());
}
