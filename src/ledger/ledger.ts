import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ArchiveStore } from '../archive/store.js';
import type { Priority } from '../campaigns/options.js';
import { DELIVERY_RANK, type DeliveryStatus, type DeliveryUpdate } from './delivery.js';
import { laneQueueName } from '../queue.js';
import { toCampaign, toRecord, type CampaignCounts, type MessageRecord } from './records.js';
import { type SkipReason } from './reasons.js';
import { jobIdFor, type DeadError, type SendJobData } from '../queue.js';
import { keys, type Keys } from '../redis/keys.js';
import { DeliveryVerdict, SettleVerdict, scripts, type EnqueueVerdict, type WaCommands } from '../scripts/index.js';

export * from './records.js';

/**
 * The ledger: what happened to every message, keyed by request_id, kept RESULT_TTL_DAYS. It owns these
 * records; the message record's fields are named in src/scripts/includes/message-record.lua (which every
 * script touching a message includes) and read back here by toRecord() only.
 *
 *   {prefix}:msg:{request_id}    hash: the message record (see message-record.lua)
 *   {prefix}:mid:{message_id}    "<campaign>|<request_id>": the reverse index delivery callbacks need
 *   {prefix}:campaign:{id}       hash: total, sent, dead, delivery:<state>
 *   {prefix}:campaign:{id}:ids   list of request_ids, in enqueue order (export)
 *   {prefix}:campaigns           sorted set: campaign id by its last enqueue (ms)
 *
 * The in-flight mark and the attempts count are written by the send gate's grant script as a request's
 * grant is given, in the same round trip.
 *
 * Status only moves pending → sent or pending → dead (and dead → pending on replay); a sent message is
 * never changed again. Transitions and counters change together in one script.
 *
 * With a long-term ledger (DATABASE_URL, src/archive/): every change of a record is also appended, whole,
 * to {prefix}:archive by the same script, a settled record stays in Redis for HOT_TTL_SECONDS only, and
 * every read below that misses in Redis asks PostgreSQL. Without one, Redis is the whole ledger.
 */

const RANKS = JSON.stringify(DELIVERY_RANK);

/** Where a job of each priority goes in its queue (see src/scripts/includes/bullmq-job.lua). */
export const LOW_PRIORITY = 10;
const PLACEMENT: Record<Priority, { script: string; options: JobsOptions }> = {
  high: { script: 'lifo', options: { lifo: true } },
  normal: { script: 'fifo', options: {} },
  low: { script: String(LOW_PRIORITY), options: { priority: LOW_PRIORITY } },
};

/** The message_id index's value: campaign ids cannot contain '|', request_ids neither. */
const messageIdEntry = (campaign: string, requestId: string) => `${campaign}|${requestId}`;

interface PendingFinish {
  keys: string[];
  args: Array<string | number>;
  resolve(changed: number): void;
  reject(error: Error): void;
}

export interface LongTermLedger {
  store: ArchiveStore;
  /** How long Redis keeps a settled record (HOT_TTL_SECONDS). */
  hotTtlSeconds: number;
}

export class Ledger {
  readonly keys: Keys;
  private readonly client: Redis & WaCommands;
  private sentBatch: PendingFinish[] = [];
  /** Where the request_id starts in a record's key, for the scripts' archive snapshots; 0: no archive. */
  private readonly idFrom: number;

  constructor(
    client: Redis,
    prefix: string,
    private readonly ttlDays: number,
    readonly longTerm?: LongTermLedger,
  ) {
    this.client = scripts(client);
    this.keys = keys(prefix);
    this.idFrom = longTerm ? this.keys.message('').length + 1 : 0;
  }

  /** How long Redis keeps what is pending, a campaign's counters and its list of messages. */
  get ttlSeconds(): number {
    return this.ttlDays * 86_400;
  }

  /** How long Redis keeps a settled record and its message_id index entry. */
  get settledTtlSeconds(): number {
    return this.longTerm ? Math.min(this.longTerm.hotTtlSeconds, this.ttlSeconds) : this.ttlSeconds;
  }

  private get archive(): ArchiveStore | undefined {
    return this.longTerm?.store;
  }

  /** With a long-term ledger: its changes not yet written to PostgreSQL; undefined without one. */
  async archiveBacklog(): Promise<number | undefined> {
    return this.longTerm ? this.client.xlen(this.keys.archive) : undefined;
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
  ): Promise<EnqueueVerdict[]> {
    if (items.length === 0) return [];
    const k = this.keys;
    const queue = laneQueueName(lane);
    const keyList = [
      k.campaign(campaign),
      k.campaignIds(campaign),
      k.campaigns,
      k.bull(queue, 'wait'),
      k.bull(queue, 'meta'),
      k.bull(queue, 'id'),
      k.bull(queue, 'events'),
      k.bull(queue, 'marker'),
      k.bull(queue, 'active'),
      k.bull(queue, 'prioritized'),
      k.bull(queue, 'pc'),
      k.lanes,
      k.control,
      k.suppressed,
    ];
    // BullMQ stores a job's options as JSON; ours are the same for every job but its id. High priority is a
    // LIFO job (taken before the waiting ones), low a prioritized one (taken when none waits).
    const placement = PLACEMENT[control.priority ?? 'normal'];
    const options = { ...job.options, ...placement.options, jobId: '' };
    const opts = JSON.stringify(options);
    const at = opts.lastIndexOf('""');
    const argv: Array<string | number> = [
      this.ttlSeconds,
      Date.now(),
      campaign,
      dryRun ? 1 : 0,
      job.name,
      opts.slice(0, at),
      opts.slice(at + 2),
      lane,
      placement.script,
      JSON.stringify(control.settings ?? {}),
    ];
    for (const item of items) {
      const jobId = jobIdFor(item.requestId);
      keyList.push(k.message(item.requestId), k.bullJob(queue, jobId));
      argv.push(item.requestId, item.to, jobId, dryRun ? '' : JSON.stringify(item.data));
    }
    return this.client.waEnqueueMessages(keyList.length, ...keyList, ...argv);
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

  /** A campaign that has messages to send: watched until it is done (src/campaigns/watch.ts). */
  async noteOpen(campaign: string): Promise<void> {
    await this.client.sadd(this.keys.campaignsOpen, campaign);
  }

  async templateInUse(name: string, language: string | undefined): Promise<boolean> {
    return (await this.client.sismember(this.keys.templates, language ? `${name}:${language}` : name)) === 1;
  }

  async get(requestId: string): Promise<MessageRecord | undefined> {
    const hash = await this.client.hgetall(this.keys.message(requestId));
    if (hash.status) return toRecord(requestId, hash);
    return this.archive?.get(requestId);
  }

  /** After an answer that proves the request was not accepted (a 5xx, a refused connection). */
  async clearInflight(requestId: string): Promise<void> {
    await this.client.hdel(this.keys.message(requestId), 'inflight');
  }

  /**
   * Returns 'orphans' when delivery callbacks for this message_id arrived first (apply them now). Calls made
   * in the same turn of the event loop share one script call (one round trip, one script run in Redis).
   */
  markSent(requestId: string, campaign: string, messageId: string): Promise<'changed' | 'unchanged' | 'orphans'> {
    const k = this.keys;
    return new Promise((resolve, reject) => {
      this.sentBatch.push({
        keys: [k.message(requestId), k.campaign(campaign), k.messageId(messageId), k.orphan(messageId)],
        args: [
          'sent',
          Date.now(),
          this.settledTtlSeconds,
          messageIdEntry(campaign, requestId),
          messageId,
          '',
          '',
          '',
          '',
        ],
        resolve: (verdict) =>
          resolve(
            verdict === SettleVerdict.OrphansWaiting
              ? 'orphans'
              : verdict === SettleVerdict.Changed
                ? 'changed'
                : 'unchanged',
          ),
        reject,
      });
      if (this.sentBatch.length === 1) setImmediate(() => this.flushSent());
    });
  }

  private flushSent(): void {
    const batch = this.sentBatch;
    this.sentBatch = [];
    const keys: string[] = [this.keys.archive];
    const args: Array<string | number> = [this.idFrom];
    for (const item of batch) {
      keys.push(...item.keys);
      args.push(...item.args);
    }
    this.client.waSettleMessages(keys.length, ...keys, ...args).then(
      (results) => batch.forEach((item, i) => item.resolve(results[i] ?? SettleVerdict.Unchanged)),
      (error: Error) => batch.forEach((item) => item.reject(error)),
    );
  }

  async markDead(requestId: string, campaign: string, error: DeadError): Promise<boolean> {
    return this.settle(
      requestId,
      campaign,
      'dead',
      error.code ?? '',
      error.http_status ?? '',
      error.reason,
      error.message,
    );
  }

  /** The message will not be sent (no session, its campaign cancelled, …): no request is made for it. */
  async markSkipped(requestId: string, campaign: string, reason: SkipReason, message: string): Promise<boolean> {
    return this.settle(requestId, campaign, 'skipped', '', '', reason, message);
  }

  private async settle(
    requestId: string,
    campaign: string,
    status: 'dead' | 'skipped',
    code: number | string,
    httpStatus: number | string,
    reason: string,
    message: string,
  ): Promise<boolean> {
    const k = this.keys;
    const [verdict] = await this.client.waSettleMessages(
      5,
      k.archive,
      k.message(requestId),
      k.campaign(campaign),
      k.messageId('-'),
      k.orphan('-'),
      // A dead message stays as long as its dead letter (RESULT_TTL_DAYS), so that `dlq replay` can revive it.
      this.idFrom,
      status,
      Date.now(),
      status === 'dead' ? this.ttlSeconds : this.settledTtlSeconds,
      '',
      '',
      code,
      httpStatus,
      reason,
      message.slice(0, 1000),
    );
    return verdict === SettleVerdict.Changed;
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
    const [verdict, previous] = await this.client.waApplyDelivery(
      4,
      k.message(message.requestId),
      k.campaign(message.campaign),
      k.metrics,
      k.archive,
      u.status,
      DELIVERY_RANK[u.status],
      u.at,
      u.errorCode ?? '',
      u.error ?? '',
      u.lossStep ?? '',
      u.lossSource ?? '',
      RANKS,
      this.idFrom,
    );
    if (verdict === DeliveryVerdict.NoMessage && this.archive) {
      // A callback after the hot TTL: the record lives in PostgreSQL only.
      const applied = await this.archive.applyDelivery(message.requestId, u);
      if (applied)
        await this.client.waMoveFunnel(2, k.campaign(message.campaign), k.metrics, applied.previous ?? '', u.status);
      return applied;
    }
    return verdict === DeliveryVerdict.Applied
      ? { previous: previous === '' ? null : (previous as DeliveryStatus) }
      : undefined;
  }

  /** dead → pending, for `dlq replay`. */
  async revive(requestId: string, campaign: string): Promise<boolean> {
    return (
      (await this.client.waReviveMessage(
        3,
        this.keys.message(requestId),
        this.keys.campaign(campaign),
        this.keys.archive,
        Date.now(),
        this.ttlSeconds,
        this.idFrom,
      )) === 1
    );
  }

  /** The message EngageLab's message_id belongs to (delivery callbacks carry only the message_id). */
  async locate(messageId: string): Promise<{ requestId: string; campaign: string } | undefined> {
    const entry = await this.client.get(this.keys.messageId(messageId));
    if (entry === null) return this.archive?.locate(messageId);
    const bar = entry.indexOf('|');
    if (bar >= 0) return { campaign: entry.slice(0, bar), requestId: entry.slice(bar + 1) };
    // Written by wa-bulk before 0.2, as the request_id alone.
    const campaign = await this.client.hget(this.keys.message(entry), 'campaign');
    return campaign === null ? undefined : { requestId: entry, campaign };
  }

  async requestIdOf(messageId: string): Promise<string | undefined> {
    return (await this.locate(messageId))?.requestId;
  }

  async campaign(id: string): Promise<CampaignCounts | undefined> {
    const counts = await this.hotCampaign(id);
    if (counts || !this.archive) return counts;
    return this.archivedCampaign(id);
  }

  /**
   * Every campaign the ledger still holds, newest enqueue first, read in pages. A campaign whose counters
   * have expired (RESULT_TTL_DAYS after its last enqueue) is dropped from the index as it is met. Then,
   * with a long-term ledger, up to `archived` campaigns that only PostgreSQL holds (0: none), newest first.
   */
  async *campaigns(pageSize = 200, archived = 1000): AsyncGenerator<CampaignCounts & { enqueued_at: string }> {
    const yielded = new Set<string>();
    for (let start = 0; ; start += pageSize) {
      const page = await this.client.zrevrange(this.keys.campaigns, start, start + pageSize - 1, 'WITHSCORES');
      const gone: string[] = [];
      for (let i = 0; i < page.length; i += 2) {
        const id = page[i] as string;
        const counts = await this.hotCampaign(id);
        if (counts) {
          yielded.add(id);
          yield { ...counts, enqueued_at: new Date(Number(page[i + 1])).toISOString() };
        } else gone.push(id);
      }
      if (gone.length > 0) {
        await this.client.zrem(this.keys.campaigns, ...gone);
        start -= gone.length;
      }
      if (page.length < pageSize * 2) break;
    }
    // Then the campaigns only the long-term ledger still holds (and those Redis dropped above).
    if (!this.archive || archived <= 0) return;
    for (const { campaign, last_at } of await this.archive.campaigns(archived + yielded.size)) {
      if (yielded.has(campaign)) continue;
      const counts = await this.archivedCampaign(campaign);
      if (counts) yield { ...counts, enqueued_at: last_at.toISOString() };
    }
  }

  /** A campaign's counts from its Redis hash; undefined once Redis has let it go. */
  private async hotCampaign(id: string): Promise<CampaignCounts | undefined> {
    return toCampaign(id, await this.client.hgetall(this.keys.campaign(id)));
  }

  /** A campaign's counts from PostgreSQL alone (its settings and pause state were Redis's only). */
  private async archivedCampaign(id: string): Promise<CampaignCounts | undefined> {
    const counts = this.archive ? toCampaign(id, await this.archive.campaignHash(id)) : undefined;
    return counts && { ...counts, archived: true };
  }

  /** The request_ids of a campaign's pending messages, in pages of up to `pageSize`. */
  async *pendingIds(campaign: string, pageSize = 500): AsyncGenerator<string[]> {
    const listKey = this.keys.campaignIds(campaign);
    for (let start = 0; ; start += pageSize) {
      const ids = await this.client.lrange(listKey, start, start + pageSize - 1);
      if (ids.length === 0) return;
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hget(this.keys.message(id), 'status');
      const statuses = (await pipeline.exec()) ?? [];
      const pending = ids.filter((_, i) => statuses[i]?.[1] === 'pending');
      if (pending.length > 0) yield pending;
      if (ids.length < pageSize) return;
    }
  }

  /**
   * Every message of a campaign in enqueue order, read in pages so memory stays flat: from the campaign's
   * list in Redis, each record from Redis or else PostgreSQL; once Redis has let the whole campaign go, from
   * PostgreSQL alone.
   */
  async *export(campaign: string, pageSize = 1000): AsyncGenerator<MessageRecord> {
    const listKey = this.keys.campaignIds(campaign);
    if (this.archive && (await this.client.exists(listKey)) === 0) {
      yield* this.archive.export(campaign, pageSize);
      return;
    }
    for (let start = 0; ; start += pageSize) {
      const ids = await this.client.lrange(listKey, start, start + pageSize - 1);
      if (ids.length === 0) return;
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.message(id));
      const results = (await pipeline.exec()) ?? [];
      const hashes = ids.map((_, i) => results[i]?.[1] as Record<string, string> | undefined);
      const missing = ids.filter((_, i) => !hashes[i]?.status);
      const archived = this.archive && missing.length > 0 ? await this.archive.getMany(missing) : undefined;
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i] as string;
        const hash = hashes[i];
        if (hash?.status) yield toRecord(id, hash);
        else {
          const record = archived?.get(id);
          if (record) yield record;
        }
      }
      if (ids.length < pageSize) return;
    }
  }
}
