import { Worker, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueue } from '../producers/enqueue.js';
import { followupControl, followupItems, templateCheck, templateLookup } from '../producers/followups.js';
import { Followups, type FollowupCounts, type FollowupMessage } from '../src/campaigns/followups.js';
import { resultTtlSeconds, type Config } from '../src/config.js';
import { ledgerFor } from '../src/ledger/index.js';
import type { Ledger } from '../src/ledger/ledger.js';
import { filtered, whereFilter } from '../src/ledger/outcomes.js';
import { EngageLabClient } from '../src/engagelab/client.js';
import { settleWithin } from '../src/lifecycle.js';
import type { Logger } from '../src/log.js';
import { readRateCard, type Rate } from '../src/preflight/cost.js';
import type { Preflight } from '../src/preflight/preflight.js';
import { Fatigue } from '../src/recipients/fatigue.js';
import { TemplateCategories } from '../src/recipients/template-categories.js';
import { FOLLOWUP_QUEUE, followupBackoff, sendQueue, type FollowupJob, type SendJobData } from '../src/queue.js';
import { workerConnection } from '../src/redis/connection.js';
import { RedisHealth } from '../src/redis/health.js';
import { keys as keysOf, type Keys } from '../src/redis/keys.js';

/**
 * Evaluates follow-up rules as they come due (docs/campaigns.md#follow-ups): each rule is a delayed job of the
 * followups queue (its job id the rule's id), so it survives restarts, and BullMQ gives it to one worker
 * process. The audience is read then, not at creation: every recipient of the source campaign whose message
 * matches the rule's outcome words gets one message of the new campaign, through the enqueue path (which
 * leaves out opted-out numbers). A worker killed mid-evaluation leaves the job to be taken over, and the rule
 * is evaluated again from the start: its messages' request_ids are derived from the rule and the recipient,
 * so the enqueue script's dedupe writes none of them twice.
 */

export interface FollowupDeps {
  ledger: Ledger;
  /** The send queue (its default job options are every send job's). */
  send: Queue<SendJobData>;
  followups: Followups;
  waFrom?: string | undefined;
  /** Marketing fatigue (FREQUENCY_CAP, MARKETING_REST): who is held back at evaluation (followupAdmits). */
  fatigue?: Pick<Fatigue, 'holds'>;
  /** Whether a recipient may get a follow-up now; by default followupAdmits. */
  admits?: (to: string) => Promise<boolean>;
  /** Messages written per enqueue chunk (a test makes it small to stop between two). */
  chunkSize?: number;
  /** Called before each message is handed to the enqueue path (a test stops an evaluation there). */
  beforeMessage?: (index: number) => void;
  /** True once the process is stopping: the evaluation stops between messages and is taken up again later. */
  stopping?: () => boolean;
  /**
   * A new preflight (not run) for a template rule's evaluation, with EngageLab's credentials: its template is
   * looked up once, so that its messages are counted under the template's category for the campaign's cost, and
   * a template EngageLab does not have makes its messages `rejected` (not `held`: fatigue is not asked then).
   */
  preflight?: () => Preflight;
  /** RATE_CARD_FILE's rates: the new campaign's estimate is kept on it, as `enqueue` keeps it. */
  rateCard?: Rate[];
  /**
   * Whether a message is in Redis's ledger already, as the enqueue script's dedupe sees it; by default the
   * ledger's record (which, with DATABASE_URL, asks PostgreSQL for each message Redis does not hold).
   */
  written?: (requestId: string) => Promise<boolean>;
}

/** How many messages an evaluation writes between two looks at its rule's state (a cancel, a stop). */
const LOOK_EVERY = 500;

const ADMIT_ALL = async (_to: string) => true;

/** Whether a message is in Redis's ledger, as the enqueue script's request_id dedupe sees it (FollowupDeps.written). */
export function writtenIn(redis: Redis, keys: Keys): (requestId: string) => Promise<boolean> {
  return async (requestId) => (await redis.exists(keys.message(requestId))) === 1;
}

/**
 * Marketing fatigue at a rule's evaluation: a follow-up that is a template, to a recipient who rests after
 * Meta's 131049 or is at their FREQUENCY_CAP, is left out (counted in the rule's `held`) rather than enqueued
 * to wait or be skipped. Text follow-ups, and templates that are not marketing, admit everyone.
 */
export function followupAdmits(
  fatigue: Pick<Fatigue, 'holds'> | undefined,
  message: FollowupMessage,
): (to: string) => Promise<boolean> {
  const { template, language } = message;
  if (!fatigue || template === undefined || language === undefined) return ADMIT_ALL;
  return async (to) => !(await fatigue.holds(to, { name: template, language }));
}

/** What an evaluation ended with: its counts, and why nothing was enqueued when that was not the audience's doing. */
export type FollowupOutcome = FollowupCounts & { note?: string };

const NOTHING: FollowupCounts = { enqueued: 0, suppressed: 0, held: 0, rejected: 0 };

/** Why a rule due now cannot send at all (its source no longer kept, its target cancelled); undefined: it can. */
async function cannotSend(ledger: Ledger, rule: { from: string; campaign: string }): Promise<string | undefined> {
  if (!(await ledger.campaign(rule.from)))
    return `source campaign "${rule.from}" is no longer kept (RESULT_TTL_DAYS): nothing was sent`;
  if ((await ledger.campaign(rule.campaign))?.state === 'cancelled')
    return `campaign "${rule.campaign}" was cancelled: nothing was enqueued`;
  return undefined;
}

/**
 * Evaluates one rule: its counts, or undefined when there was nothing to do (gone, cancelled, done). A rule
 * that cannot send (see cannotSend) ends done with nothing enqueued and a `note` saying why.
 */
export async function evaluateFollowup(deps: FollowupDeps, id: string): Promise<FollowupOutcome | undefined> {
  const rule = await deps.followups.begin(id);
  if (!rule) return undefined;
  const note = await cannotSend(deps.ledger, rule);
  if (note !== undefined) {
    await deps.followups.finish(id, NOTHING, Date.now(), note);
    return { ...NOTHING, note };
  }
  const filter = whereFilter(rule.where, 'where');
  const held = { held: 0 };
  const counts = (s: { accepted: number; duplicates: number; suppressed: number; rejected: number }) => ({
    // Duplicates are this rule's own messages, written by an evaluation that was interrupted.
    enqueued: s.accepted + s.duplicates,
    suppressed: s.suppressed,
    held: held.held,
    rejected: s.rejected,
  });
  let chunks = Promise.resolve();
  // A rule cancelled while it evaluates (its worker's lock lapsed), or a process that stops, ends the
  // evaluation between two messages: what is written stays, and nothing more is.
  let halted: 'cancelled' | 'stopping' | undefined;
  const lookedAt = async (index: number): Promise<boolean> => {
    if (index % LOOK_EVERY !== 0) return true;
    if (deps.stopping?.()) halted = 'stopping';
    else if ((await deps.followups.get(id))?.state !== 'evaluating') halted = 'cancelled';
    return halted === undefined;
  };
  const preflight = deps.preflight && (await lookedUp(deps.preflight(), rule.message));
  // A message that preflight refuses is rejected, whoever it goes to: fatigue does not hold it back first.
  const refused = preflight !== undefined && preflight.refuses;
  const admits = refused ? ADMIT_ALL : (deps.admits ?? followupAdmits(deps.fatigue, rule.message));
  const items = followupItems(
    rule,
    filtered(deps.ledger.export(rule.from), filter),
    admits,
    held,
    // Asked only when someone may be held back: a message of this rule already written counts as enqueued.
    admits === ADMIT_ALL
      ? undefined
      : (deps.written ?? (async (requestId) => (await deps.ledger.get(requestId)) !== undefined)),
  );
  const summary = await enqueue(watched(items, lookedAt, deps.beforeMessage), {
    campaign: rule.campaign,
    ledger: deps.ledger,
    queue: deps.send,
    waFrom: deps.waFrom,
    control: followupControl(rule),
    ...(preflight && { preflight: preflight.preflight }),
    ...(deps.rateCard && { rateCard: deps.rateCard }),
    ...(deps.chunkSize !== undefined && { chunkSize: deps.chunkSize }),
    onProgress: (s) => {
      const now = counts(s);
      // Counts shown while it runs: one that cannot be written is written with the next, or at the end.
      chunks = chunks.then(() => deps.followups.progress(id, now)).catch(() => {});
    },
  });
  await chunks;
  if (halted === 'stopping') throw new Error('the worker is stopping: the rule is taken up again later');
  if (halted === 'cancelled') return undefined;
  const final = counts(summary);
  await deps.followups.finish(id, final);
  return final;
}

/**
 * The preflight of a template rule with its template looked up (a text needs none), and whether it refuses the
 * rule's messages (no such template, not approved, parameters that do not fit); undefined when the lookup
 * failed (the evaluation goes on without it, as a send would find out).
 */
async function lookedUp(
  preflight: Preflight,
  message: FollowupMessage,
): Promise<{ preflight: Preflight; refuses: boolean } | undefined> {
  if (message.template === undefined) return undefined;
  const { looked, problem } = await templateCheck(message, preflight);
  return looked ? { preflight, refuses: problem !== undefined } : undefined;
}

/** The items, until `go` says stop (it is asked before each); `before` sees each index (tests). */
async function* watched<T>(
  items: AsyncIterable<T>,
  go: (index: number) => Promise<boolean>,
  before?: (index: number) => void,
): AsyncGenerator<T> {
  let index = 0;
  for await (const item of items) {
    if (!(await go(index))) return;
    before?.(index);
    index++;
    yield item;
  }
}

/** RATE_CARD_FILE's rates, or none (one warning) when the card cannot be read: a worker runs without prices. */
function followupRateCard(config: Config, log: Logger): Rate[] | undefined {
  if (!config.RATE_CARD_FILE) return undefined;
  try {
    return readRateCard(config.RATE_CARD_FILE);
  } catch (error) {
    log.warn({ err: (error as Error).message }, 'RATE_CARD_FILE not read: follow-up campaigns are not priced');
    return undefined;
  }
}

/**
 * The followups queue's worker of a `wa-bulk worker` process, on connections of its own: one rule at a time
 * (an evaluation reads a whole campaign). close() lets the rule being evaluated finish its chunk and stops.
 * `health` is the process's (the send worker's): a Redis that goes away is one line for the whole process.
 */
export function startFollowupWorker(
  config: Config,
  log: Logger,
  health: RedisHealth = new RedisHealth(log),
): { close(): Promise<void> } {
  const redis = health.watch(workerConnection(config));
  const blocking = health.watch(workerConnection(config));
  const ledger = ledgerFor(config, redis);
  const send = sendQueue(config, redis);
  const keys = keysOf(config.QUEUE_PREFIX);
  const followups = new Followups(redis, keys, resultTtlSeconds(config) * 1000);
  // Templates' categories asked of EngageLab as the send worker asks them, only when fatigue can act.
  const client =
    (config.FREQUENCY_CAP !== undefined || config.MARKETING_REST > 0) &&
    config.ENGAGELAB_DEV_KEY &&
    config.ENGAGELAB_DEV_SECRET
      ? new EngageLabClient({
          baseUrl: config.ENGAGELAB_BASE_URL,
          key: config.ENGAGELAB_DEV_KEY,
          secret: config.ENGAGELAB_DEV_SECRET,
          timeoutMs: config.HTTP_TIMEOUT_MS,
          retries: config.RETRY_RETRIES,
          minRetryMs: config.RETRY_MIN_MS,
          maxRetryMs: config.RETRY_MAX_MS,
          maxSockets: 2,
        })
      : undefined;
  const fatigue = client && new Fatigue(redis, keys, config, new TemplateCategories((q) => client.listTemplates(q)));
  const rateCard = followupRateCard(config, log);
  const lookup =
    config.ENGAGELAB_DEV_KEY && config.ENGAGELAB_DEV_SECRET ? () => templateLookup(config) as Preflight : undefined;
  let stopping = false;
  const worker = new Worker<FollowupJob>(
    FOLLOWUP_QUEUE,
    async (job) => {
      const id = job.data.followup;
      const counts = await evaluateFollowup(
        {
          ledger,
          send,
          followups,
          fatigue,
          waFrom: config.WA_FROM,
          stopping: () => stopping,
          ...(lookup && { preflight: lookup }),
          ...(rateCard && { rateCard }),
          written: writtenIn(redis, keys),
        },
        id,
      );
      if (counts?.note !== undefined) log.warn({ followup: id, ...counts }, `follow-up not evaluated: ${counts.note}`);
      else if (counts) log.info({ followup: id, ...counts }, 'follow-up evaluated');
    },
    {
      connection: blocking,
      prefix: config.QUEUE_PREFIX,
      concurrency: 1,
      lockDuration: config.WORKER_LOCK_MS,
      // Taken over soon after its worker died (workers/send-worker.ts says how the checks go); never failed
      // for stalling: an evaluation taken up again writes nothing twice.
      stalledInterval: Math.round(config.WORKER_LOCK_MS / 10),
      maxStalledCount: 1_000_000,
      settings: { backoffStrategy: followupBackoff },
    },
  );
  worker.on('failed', (job, error) =>
    log.warn(
      { followup: job?.data.followup, err: error.message },
      'follow-up evaluation failed; it will be tried again',
    ),
  );
  health.absorb(worker, 'follow-up worker');
  health.absorb(send, 'send queue');
  return {
    async close() {
      stopping = true;
      // Closing its connections is no lost Redis (the health may be the send worker's: it stops too).
      health.stop();
      // With Redis away BullMQ would wait for it: the rule being evaluated is taken up again by the next
      // worker (nothing is written twice), so the close does not wait.
      await settleWithin(worker.close(!health.connected), 5000);
      await settleWithin(Promise.all([send.close(), ledger.close()]), 1000);
      client?.close();
      redis.disconnect();
      blocking.disconnect();
    },
  };
}
