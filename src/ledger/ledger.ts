import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ArchiveStore } from '../archive/store.js';
import type { Priority } from '../campaigns/options.js';
import { DELIVERY_RANK, type DeliveryStatus, type DeliveryUpdate } from './delivery.js';
import { payloadDigest } from './digest.js';
import { PLACEMENT } from './placement.js';
import { ESTIMATE_FIELD, TEMPLATES_PREFIX } from './campaign-cost.js';
import type { CostEstimate } from '../preflight/cost.js';
import { LedgerReads } from './reads.js';
import { SKIP_WORDS, type SkipReason } from './reasons.js';
import { jobIdFor, laneQueueName, type DeadError, type SendJobData } from '../queue.js';
import { keys } from '../redis/keys.js';
import { REQUEST_ID_ARG } from '../messages/schema.js';
import { groupBacklog } from '../events/feed.js';
import * as scripts from '../scripts/index.js';

export * from './records.js';

/**
 * The ledger: what happened to every message, keyed by request_id, kept RESULT_TTL_DAYS. It owns these
 * records and writes them through the scripts of src/scripts/; the message record's fields are named in
 * src/scripts/includes/message-record.lua (which every script touching a message includes) and, in
 * TypeScript, in ./records.ts only. Its reads are ./reads.ts.
 *
 *   {prefix}:msg:{request_id}    hash: the message record (see message-record.lua)
 *   {prefix}:mid:{message_id}    "<campaign>|<request_id>": the reverse index delivery callbacks need
 *   {prefix}:campaign:{id}       hash: total, sent, dead, delivery:<state> (its state fields are Campaigns')
 *   {prefix}:campaign:{id}:ids   list of request_ids, in enqueue order (export)
 *   {prefix}:campaign:{id}:minutes  hash: sends and delivery states by minute (the campaign's timeline)
 *   {prefix}:campaigns           sorted set: campaign id by its last enqueue (ms)
 *
 * The in-flight mark and the attempts count are written by the send gate's grant script as a request's
 * grant is given, in the same round trip.
 *
 * Status only moves pending → sent or pending → dead (and dead → pending on replay, dead → sent when a status
 * callback proves a lost answer was an acceptance); a sent message is never changed again. Transitions and
 * counters change together in one script.
 *
 * Every change of a record is also appended, whole, to the change feed {prefix}:archive by the same script
 * (always with a long-term ledger, else while the feed has a reader: src/scripts/includes/feed.lua). With a
 * long-term ledger (DATABASE_URL, src/archive/), a settled record stays in Redis for HOT_TTL_SECONDS only, and
 * every read that misses in Redis asks PostgreSQL. Without one, Redis is the whole ledger.
 */

const RANKS = JSON.stringify(DELIVERY_RANK);

/** A message's own custom_args as its record keeps them: JSON, without wa-bulk's request_id; '' without any. */
function argsOf(args: Record<string, unknown> | undefined): string {
  if (!args) return '';
  const { [REQUEST_ID_ARG]: _ours, ...own } = args;
  return Object.keys(own).length > 0 ? JSON.stringify(own) : '';
}

/** The message_id index's value: campaign ids cannot contain '|', request_ids neither. */
const messageIdEntry = (campaign: string, requestId: string) => `${campaign}|${requestId}`;

/** What applyDeliveries did with a row. */
export type DeliveriesResult = 'applied' | 'not_further' | 'no_message' | 'orphaned' | 'orphan_refused' | 'known_now';
const DELIVERIES_RESULT: Readonly<Record<scripts.DeliveriesVerdict, DeliveriesResult>> = {
  [scripts.DeliveriesVerdict.NoMessage]: 'no_message',
  [scripts.DeliveriesVerdict.NotFurther]: 'not_further',
  [scripts.DeliveriesVerdict.Applied]: 'applied',
  [scripts.DeliveriesVerdict.Orphaned]: 'orphaned',
  [scripts.DeliveriesVerdict.OrphanRefused]: 'orphan_refused',
  [scripts.DeliveriesVerdict.KnownNow]: 'known_now',
};

type SentOutcome = 'changed' | 'unchanged' | 'orphans';
const SENT_OUTCOME: Readonly<Record<scripts.SettleVerdict, SentOutcome>> = {
  [scripts.SettleVerdict.Unchanged]: 'unchanged',
  [scripts.SettleVerdict.Changed]: 'changed',
  [scripts.SettleVerdict.OrphansWaiting]: 'orphans',
};

/** A markSent waiting for its turn's settle script. */
interface PendingSent extends scripts.SettleMessage {
  resolve(outcome: SentOutcome): void;
  reject(error: Error): void;
}

export interface LongTermLedger {
  store: ArchiveStore;
  /** How long Redis keeps a settled record (HOT_TTL_SECONDS). */
  hotTtlSeconds: number;
}

export class Ledger extends LedgerReads {
  private sentBatch: PendingSent[] = [];
  /**
   * Where the request_id starts in a record's key, for the scripts' snapshots in the change feed: positive
   * with a long-term ledger (always appended), negative without (appended while the feed has a reader, such
   * as the webhook dispatcher: src/scripts/includes/feed.lua).
   */
  private readonly idFrom: number;

  constructor(
    client: Redis,
    prefix: string,
    private readonly ttlDays: number,
    readonly longTerm?: LongTermLedger,
  ) {
    super(client, keys(prefix), longTerm?.store);
    this.idFrom = (longTerm ? 1 : -1) * (this.keys.message('').length + 1);
  }

  /** How long Redis keeps what is pending, a campaign's counters and its list of messages. */
  get ttlSeconds(): number {
    return this.ttlDays * 86_400;
  }

  /** How long Redis keeps a settled record and its message_id index entry. */
  get settledTtlSeconds(): number {
    return this.longTerm ? Math.min(this.longTerm.hotTtlSeconds, this.ttlSeconds) : this.ttlSeconds;
  }

  /** With a long-term ledger: its changes not yet written to PostgreSQL; undefined without one. */
  async archiveBacklog(): Promise<number | undefined> {
    return this.longTerm ? groupBacklog(this.client, this.keys.archive, 'archivers') : undefined;
  }

  /** Ends the long-term ledger's connections (the Redis client is the caller's). */
  async close(): Promise<void> {
    await this.archive?.close();
  }

  /**
   * Records new messages as pending and adds their send jobs to their lane's queue, in one script: the
   * enqueue path. Tells for each message whether it is new, a duplicate, or pending without a job (lost with
   * a Redis restored from an older snapshot), which gets its job again. Only options BullMQ stores unchanged
   * may be given (attempts, backoff, removeOn*).
   */
  async enqueue(
    campaign: string,
    lane: string,
    items: ReadonlyArray<{ requestId: string; to: string; data: SendJobData }>,
    job: { name: string; options: JobsOptions },
    dryRun = false,
    control: { priority?: Priority; settings?: Record<string, string> } = {},
  ): Promise<scripts.EnqueueVerdict[]> {
    if (items.length === 0) return [];
    const k = this.keys;
    const queue = laneQueueName(lane);
    const messages: scripts.EnqueueMessage[] = [];
    for (const { requestId, to, data } of items) {
      const jobId = jobIdFor(requestId);
      messages.push({
        messageKey: k.message(requestId),
        jobKey: k.bullJob(queue, jobId),
        requestId,
        to,
        jobId,
        data,
        digest: dryRun ? '' : payloadDigest(data.payload),
        args: argsOf(data.payload.custom_args),
      });
    }
    return scripts.enqueueMessages(this.client, {
      keys: {
        campaign: k.campaign(campaign),
        campaignIds: k.campaignIds(campaign),
        campaigns: k.campaigns,
        wait: k.bull(queue, 'wait'),
        meta: k.bull(queue, 'meta'),
        id: k.bull(queue, 'id'),
        events: k.bull(queue, 'events'),
        marker: k.bull(queue, 'marker'),
        active: k.bull(queue, 'active'),
        prioritized: k.bull(queue, 'prioritized'),
        pc: k.bull(queue, 'pc'),
        lanes: k.lanes,
        control: k.control,
        suppressed: k.suppressed,
      },
      ttlSeconds: this.ttlSeconds,
      now: Date.now(),
      campaign,
      dryRun,
      jobName: job.name,
      jobOptions: job.options,
      lane,
      placement: PLACEMENT[control.priority ?? 'normal'],
      settings: control.settings ?? {},
      messages,
    });
  }

  /** Remembers the templates being sent, so a template_update notification knows whether it matters. */
  async noteTemplates(
    bodies: ReadonlyArray<{ type: string; template?: { name: string; language: string } }>,
  ): Promise<void> {
    const names = new Set<string>();
    for (const body of bodies)
      if (body.type === 'template' && body.template)
        names.add(body.template.name).add(`${body.template.name}:${body.template.language}`);
    if (names.size === 0) return;
    await this.client
      .multi()
      .sadd(this.keys.templates, ...names)
      .expire(this.keys.templates, this.ttlSeconds)
      .exec();
  }

  /**
   * While tracing is on: the traceparent of each message's `create` span, kept in its record (field `trace`,
   * 55 bytes) so that a delivery callback can link to the message's trace. Only for records the enqueue has
   * just written, which exist.
   */
  async noteTraces(traces: ReadonlyArray<{ requestId: string; traceparent: string }>): Promise<void> {
    if (traces.length === 0) return;
    const pipeline = this.client.pipeline();
    for (const { requestId, traceparent } of traces) pipeline.hset(this.keys.message(requestId), 'trace', traceparent);
    await pipeline.exec();
  }

  /**
   * The recipient answered this message (an inbound message quoting it): its first answer's time, field
   * `replied_at` (epoch ms), set once. Only on a record Redis still holds, so no key is made without its expiry.
   */
  async noteReply(requestId: string, at: number): Promise<void> {
    const key = this.keys.message(requestId);
    if ((await this.client.exists(key)) === 1) await this.client.hsetnx(key, 'replied_at', String(at));
  }

  /** The message (and its trace's traceparent, if one was kept) of each message_id; undefined where unknown. */
  async tracesOf(
    messageIds: readonly string[],
  ): Promise<Array<{ requestId: string; campaign: string; traceparent: string | undefined } | undefined>> {
    const located = await this.locateMany(messageIds);
    const pipeline = this.client.pipeline();
    for (const message of located) if (message) pipeline.hget(this.keys.message(message.requestId), 'trace');
    const replies = (await pipeline.exec()) ?? [];
    let next = 0;
    return located.map((message) => {
      if (!message) return undefined;
      const [, traceparent] = replies[next++] ?? [];
      return { ...message, traceparent: typeof traceparent === 'string' ? traceparent : undefined };
    });
  }

  /**
   * After an enqueue wrote new messages: counts its template messages by country and category in the campaign's
   * hash (`counts`: '<country>:<category>' → n; see ./campaign-cost.ts), and gives the campaign's per-minute
   * hash its expiry now, so that the scripts' HINCRBYs on it (settle-messages.lua, includes/delivery.lua) keep
   * it: a field `since` makes the key exist. One round trip a chunk.
   */
  async noteEnqueued(campaign: string, counts: ReadonlyMap<string, number>): Promise<void> {
    const minutes = this.keys.campaignMinutes(campaign);
    const tx = this.client.multi().hsetnx(minutes, 'since', Date.now()).expire(minutes, this.ttlSeconds);
    for (const [field, n] of counts) tx.hincrby(this.keys.campaign(campaign), `${TEMPLATES_PREFIX}${field}`, n);
    await tx.exec();
  }

  /** The campaign's cost estimate (from RATE_CARD_FILE), kept on its hash until the next enqueue replaces it. */
  async noteCostEstimate(campaign: string, estimate: CostEstimate): Promise<void> {
    await this.client.hset(this.keys.campaign(campaign), ESTIMATE_FIELD, JSON.stringify(estimate));
  }

  /** A campaign that has messages to send: watched until it is done (src/campaigns/watch.ts). */
  async noteOpen(campaign: string): Promise<void> {
    await this.client.sadd(this.keys.campaignsOpen, campaign);
  }

  /** After an answer that proves the request was not accepted (a 5xx, a refused connection). */
  async clearInflight(requestId: string): Promise<void> {
    await this.client.hdel(this.keys.message(requestId), 'inflight');
  }

  /**
   * Returns 'orphans' when delivery callbacks for this message_id arrived first (apply them now). Calls made
   * in the same turn of the event loop share one script call (one round trip, one script run in Redis).
   */
  markSent(requestId: string, campaign: string, messageId: string): Promise<SentOutcome> {
    const k = this.keys;
    return new Promise((resolve, reject) => {
      this.sentBatch.push({
        messageKey: k.message(requestId),
        campaignKey: k.campaign(campaign),
        messageIdKey: k.messageId(messageId),
        orphanKey: k.orphan(messageId),
        minutesKey: k.campaignMinutes(campaign),
        status: 'sent',
        now: Date.now(),
        ttlSeconds: this.settledTtlSeconds,
        messageIdEntry: messageIdEntry(campaign, requestId),
        messageId,
        code: '',
        httpStatus: '',
        reason: '',
        error: '',
        resolve,
        reject,
      });
      if (this.sentBatch.length === 1) setImmediate(() => this.flushSent());
    });
  }

  private flushSent(): void {
    const batch = this.sentBatch;
    this.sentBatch = [];
    scripts
      .settleMessages(this.client, { keys: { archive: this.keys.archive }, idFrom: this.idFrom, messages: batch })
      .then(
        (verdicts) => {
          for (let i = 0; i < batch.length; i++)
            batch[i]?.resolve(SENT_OUTCOME[verdicts[i] ?? scripts.SettleVerdict.Unchanged]);
        },
        (error: Error) => {
          for (const item of batch) item.reject(error);
        },
      );
  }

  /**
   * A status callback reported `messageId` for this request_id (its custom_args carry REQUEST_ID_ARG) and the
   * ledger does not know that message_id. When wa-bulk never learned how the message's request ended (dead
   * with reason unknown_outcome, or pending after a request was granted), it is recorded as sent with that
   * message_id, in one script (learn-message-id.lua). Returns its campaign, the status it had before and
   * whether delivery rows wait for the message_id; undefined when the message is left as it is.
   */
  async learnMessageId(
    requestId: string,
    messageId: string,
  ): Promise<{ campaign: string; previous: 'pending' | 'dead'; orphans: boolean } | undefined> {
    const record = await this.get(requestId);
    if (record?.status !== 'pending' && record?.status !== 'dead') return undefined;
    const { campaign } = record;
    const k = this.keys;
    const { verdict, previous } = await scripts.learnMessageId(this.client, {
      keys: {
        message: k.message(requestId),
        campaign: k.campaign(campaign),
        messageIdKey: k.messageId(messageId),
        orphanKey: k.orphan(messageId),
        archive: k.archive,
      },
      campaign,
      messageId,
      messageIdEntry: messageIdEntry(campaign, requestId),
      now: Date.now(),
      ttlSeconds: this.settledTtlSeconds,
      idFrom: this.idFrom,
    });
    if (verdict === scripts.LearnVerdict.Left) return undefined;
    return {
      campaign,
      previous: previous as 'pending' | 'dead',
      orphans: verdict === scripts.LearnVerdict.OrphansWaiting,
    };
  }

  async markDead(requestId: string, campaign: string, error: DeadError): Promise<boolean> {
    return this.settle(requestId, campaign, 'dead', error);
  }

  /** The message will not be sent (no session, its campaign cancelled, …): no request is made for it. */
  async markSkipped(requestId: string, campaign: string, reason: SkipReason): Promise<boolean> {
    return this.settle(requestId, campaign, 'skipped', {
      code: null,
      http_status: null,
      reason,
      message: SKIP_WORDS[reason],
    });
  }

  private async settle(
    requestId: string,
    campaign: string,
    status: 'dead' | 'skipped',
    why: Omit<DeadError, 'reason'> & { reason: string },
  ): Promise<boolean> {
    const k = this.keys;
    const [verdict] = await scripts.settleMessages(this.client, {
      keys: { archive: k.archive },
      idFrom: this.idFrom,
      messages: [
        {
          messageKey: k.message(requestId),
          campaignKey: k.campaign(campaign),
          messageIdKey: k.messageId('-'),
          orphanKey: k.orphan('-'),
          minutesKey: k.campaignMinutes(campaign),
          status,
          now: Date.now(),
          // A dead message stays as long as its dead letter (RESULT_TTL_DAYS), so that `dlq replay` can revive it.
          ttlSeconds: status === 'dead' ? this.ttlSeconds : this.settledTtlSeconds,
          messageIdEntry: '',
          messageId: '',
          code: why.code ?? '',
          httpStatus: why.http_status ?? '',
          reason: why.reason,
          error: why.message.slice(0, 1000),
        },
      ],
    });
    return verdict === scripts.SettleVerdict.Changed;
  }

  /**
   * Moves the message's delivery forward, with its campaign's and the fleet's funnels. Returns the state it
   * had before (null for none), or undefined when the update is not further than it.
   */
  async applyDelivery(
    message: { requestId: string; campaign: string },
    u: DeliveryUpdate,
  ): Promise<{ previous: DeliveryStatus | null } | undefined> {
    const k = this.keys;
    const funnels = { campaign: k.campaign(message.campaign), metrics: k.metrics };
    const { verdict, previous } = await scripts.applyDelivery(this.client, {
      keys: {
        message: k.message(message.requestId),
        ...funnels,
        archive: k.archive,
        minutes: k.campaignMinutes(message.campaign),
      },
      update: u,
      rank: DELIVERY_RANK[u.status],
      ranks: RANKS,
      idFrom: this.idFrom,
    });
    if (verdict === scripts.DeliveryVerdict.NoMessage && this.archive) {
      // A callback after the hot TTL: the record lives in PostgreSQL only.
      const applied = await this.archive.applyDelivery(message.requestId, u);
      if (!applied) return undefined;
      await scripts.moveFunnel(this.client, {
        keys: funnels,
        from: applied.previous,
        to: u.status,
        fromCode: applied.previousCode,
        toCode: u.errorCode,
        billable: scripts.billableArg(u),
      });
      return { previous: applied.previous };
    }
    return verdict === scripts.DeliveryVerdict.Applied ? { previous: previous as DeliveryStatus | null } : undefined;
  }

  /**
   * A batch's delivery updates in one script run (apply-deliveries.lua): each row of a located message moves it
   * forward, as applyDelivery does; a row of a message_id not known is kept as an orphan within `orphans`'
   * bounds. Per row, what happened and the state before; a message only the long-term ledger still holds is
   * updated there.
   */
  async applyDeliveries(
    rows: ReadonlyArray<{
      message: { requestId: string; campaign: string } | undefined;
      messageId: string;
      update: DeliveryUpdate;
    }>,
    orphans: { ttlSeconds: number; rows: number; ids: number },
  ): Promise<Array<{ result: DeliveriesResult; previous: DeliveryStatus | null }>> {
    const k = this.keys;
    const verdicts = await scripts.applyDeliveries(this.client, {
      keys: { metrics: k.metrics, archive: k.archive, orphans: k.orphans, anyKey: k.orphans },
      ranks: RANKS,
      idFrom: this.idFrom,
      now: Date.now(),
      orphanTtlSeconds: orphans.ttlSeconds,
      orphanRows: orphans.rows,
      orphanIds: orphans.ids,
      rows: rows.map(({ message, messageId, update }) => ({
        message: message && {
          messageKey: k.message(message.requestId),
          campaignKey: k.campaign(message.campaign),
          minutesKey: k.campaignMinutes(message.campaign),
        },
        messageIdKey: k.messageId(messageId),
        orphanKey: k.orphan(messageId),
        messageId,
        update,
        rank: DELIVERY_RANK[update.status],
      })),
    });
    return Promise.all(
      verdicts.map(async ({ verdict, previous }, i) => {
        const row = rows[i] as (typeof rows)[number];
        if (verdict === scripts.DeliveriesVerdict.NoMessage && this.archive && row.message) {
          // A callback after the hot TTL: the record lives in PostgreSQL only.
          const applied = await this.applyDelivery(row.message, row.update);
          return { result: applied ? 'applied' : 'not_further', previous: applied?.previous ?? null } as const;
        }
        return { result: DELIVERIES_RESULT[verdict], previous: previous as DeliveryStatus | null };
      }),
    );
  }

  /**
   * A cancel's skips (cancel-messages.lua): a pending message is skipped, reason cancelled, when its job was
   * removed from its queue, or when no request has been made for it (a job a worker holds then ends at its
   * grant, without a request or a second count). Per message, whether it was skipped now.
   */
  async skipCancelled(
    campaign: string,
    messages: ReadonlyArray<{ requestId: string; to: string; removed: boolean }>,
  ): Promise<boolean[]> {
    if (messages.length === 0) return [];
    const k = this.keys;
    return scripts.cancelMessages(this.client, {
      keys: { archive: k.archive, campaign: k.campaign(campaign) },
      idFrom: this.idFrom,
      now: Date.now(),
      ttlSeconds: this.settledTtlSeconds,
      reason: 'cancelled',
      error: SKIP_WORDS.cancelled,
      messages: messages.map((m) => ({
        requestId: m.requestId,
        messageKey: k.message(m.requestId),
        sent: k.marketingSent(m.to),
        removed: m.removed,
      })),
    });
  }

  /**
   * An operator's removal of one pending message (remove-message.lua): skipped, reason `removed`, when no
   * request has been made for it, or, with `jobRemoved`, when its job was taken out of its queue. The
   * verdict says what stopped it otherwise.
   */
  async skipRemoved(
    requestId: string,
    to: string,
    campaign: string,
    jobRemoved: boolean,
  ): Promise<scripts.RemoveVerdict> {
    const k = this.keys;
    return scripts.removeMessage(this.client, {
      keys: {
        archive: k.archive,
        campaign: k.campaign(campaign),
        message: k.message(requestId),
        sent: k.marketingSent(to),
      },
      requestId,
      idFrom: this.idFrom,
      now: Date.now(),
      ttlSeconds: this.settledTtlSeconds,
      reason: 'removed',
      error: SKIP_WORDS.removed,
      removed: jobRemoved,
    });
  }

  /** dead → pending, for `dlq replay`. */
  async revive(requestId: string, campaign: string): Promise<boolean> {
    const k = this.keys;
    return scripts.reviveMessage(this.client, {
      keys: { message: k.message(requestId), campaign: k.campaign(campaign), archive: k.archive },
      now: Date.now(),
      ttlSeconds: this.ttlSeconds,
      idFrom: this.idFrom,
    });
  }
}
