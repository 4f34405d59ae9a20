import type { Redis } from 'ioredis';
import type { ArchiveStore } from '../archive/store.js';
import type { Keys } from '../redis/keys.js';
import { isoOf, toCampaign, toRecord, type CampaignCounts, type MessageRecord } from './records.js';
import { RejectedLines } from './rejects.js';

/**
 * What the ledger answers (src/ledger/ledger.ts writes it): a message's record, the message of a message_id,
 * a campaign's counts, the campaigns, and a campaign's messages in pages. Each read that misses in Redis asks
 * the long-term ledger, when there is one. Beside them, a campaign's rejected lines (./rejects.ts), which
 * the producer records.
 */
export class LedgerReads {
  readonly rejects: RejectedLines;

  constructor(
    protected readonly client: Redis,
    readonly keys: Keys,
    protected readonly archive: ArchiveStore | undefined,
  ) {
    this.rejects = new RejectedLines(client, keys);
  }

  async get(requestId: string): Promise<MessageRecord | undefined> {
    const hash = await this.client.hgetall(this.keys.message(requestId));
    if (hash.status) return toRecord(requestId, hash);
    return this.archive?.get(requestId);
  }

  /** Whether a template (name, or name:language) is being sent: noted by Ledger.noteTemplates. */
  async templateInUse(name: string, language: string | undefined): Promise<boolean> {
    return (await this.client.sismember(this.keys.templates, language ? `${name}:${language}` : name)) === 1;
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

  /** The messages of several message_ids at once (one round trip for what Redis holds), in their order. */
  async locateMany(messageIds: readonly string[]): Promise<Array<{ requestId: string; campaign: string } | undefined>> {
    if (messageIds.length === 0) return [];
    const entries = await this.client.mget(...messageIds.map((id) => this.keys.messageId(id)));
    return Promise.all(
      entries.map((entry, i) => {
        const bar = entry?.indexOf('|') ?? -1;
        if (entry && bar >= 0) return { campaign: entry.slice(0, bar), requestId: entry.slice(bar + 1) };
        // Not in Redis and no long-term ledger to ask: unknown, without asking again.
        if (entry === null && !this.archive) return undefined;
        return this.locate(messageIds[i] as string);
      }),
    );
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

  async requestIdOf(messageId: string): Promise<string | undefined> {
    return (await this.locate(messageId))?.requestId;
  }

  async campaign(id: string): Promise<CampaignCounts | undefined> {
    const counts = await this.hotCampaign(id);
    if (counts || !this.archive) return counts;
    return this.archivedCampaign(id);
  }

  /**
   * Whether Redis holds the campaign as cancelled: what an enqueue asks before it reads its input. Redis alone,
   * so that enqueueing never waits for (or fails with) PostgreSQL; a campaign Redis has let go takes messages
   * as a new one.
   */
  async isCancelled(id: string): Promise<boolean> {
    return (await this.client.hget(this.keys.campaign(id), 'state')) === 'cancelled';
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
          yield { ...counts, enqueued_at: isoOf(page[i + 1]) ?? new Date(0).toISOString() };
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

  /**
   * A campaign's counts from PostgreSQL alone (its settings, pause state and rejected lines were Redis's
   * only).
   */
  private async archivedCampaign(id: string): Promise<CampaignCounts | undefined> {
    const counts = this.archive ? toCampaign(id, await this.archive.campaignHash(id)) : undefined;
    return counts && { ...counts, rejected: null, archived: true };
  }

  /**
   * The campaign's sends and delivery states by minute (its `:minutes` hash: src/scripts/includes/delivery.lua),
   * oldest first, minutes without any left out; empty once Redis has let the campaign go.
   */
  async timeline(campaign: string): Promise<TimelinePoint[]> {
    const hash = await this.client.hgetall(this.keys.campaignMinutes(campaign));
    const byMinute = new Map<number, TimelinePoint>();
    for (const [field, value] of Object.entries(hash)) {
      const [minute, kind] = field.split(':');
      if (!minute || !/^[0-9]{1,12}$/.test(minute) || !TIMELINE_KINDS.includes(kind as TimelineKind)) continue;
      const m = Number(minute);
      const point = byMinute.get(m) ?? {
        at: new Date(m * 60_000).toISOString(),
        sent: 0,
        delivered: 0,
        read: 0,
        failed: 0,
      };
      point[kind as TimelineKind] = Number(value);
      byMinute.set(m, point);
    }
    return [...byMinute].sort(([a], [b]) => a - b).map(([, point]) => point);
  }

  /**
   * A campaign's pending messages (request_id and recipient), in pages of up to `pageSize`, of its first
   * `lookAtMost` messages in enqueue order (all by default).
   */
  async *pendingMessages(
    campaign: string,
    pageSize = 500,
    lookAtMost = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<Array<{ requestId: string; to: string }>> {
    const listKey = this.keys.campaignIds(campaign);
    for (let start = 0; start < lookAtMost; start += pageSize) {
      const ids = await this.client.lrange(listKey, start, Math.min(start + pageSize, lookAtMost) - 1);
      if (ids.length === 0) return;
      const pipeline = this.client.pipeline();
      for (const id of ids) pipeline.hmget(this.keys.message(id), 'status', 'to');
      const rows = ((await pipeline.exec()) ?? []).map(([, row]) => row as Array<string | null> | null);
      const pending = ids.flatMap((requestId, i) => {
        const [status, to] = rows[i] ?? [];
        return status === 'pending' ? [{ requestId, to: to ?? '' }] : [];
      });
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
    for await (const { record } of this.entries(campaign, 0, pageSize)) yield record;
  }

  /**
   * The messages of a campaign newest first, from position `start` down (its place in enqueue order, 0 the
   * first; undefined: from the newest), each with its position: a page of GET /api/campaigns/:id/messages with
   * `order=newest`. A position stays the message's while later ones are enqueued.
   */
  async *entriesNewestFirst(
    campaign: string,
    start: number | undefined,
    pageSize = 1000,
  ): AsyncGenerator<{ at: number; record: MessageRecord }> {
    const listKey = this.keys.campaignIds(campaign);
    if (this.archive && (await this.client.exists(listKey)) === 0) {
      for await (const { seq, record } of this.archive.exportNewestFirst(campaign, start, pageSize))
        yield { at: seq - 1, record };
      return;
    }
    // A position past the end (a cursor not from this list) starts at its last entry, so positions stay true.
    const last = (await this.client.llen(listKey)) - 1;
    let to = start === undefined ? last : Math.min(start, last);
    while (to >= 0) {
      const from = Math.max(0, to - pageSize + 1);
      const ids = (await this.client.lrange(listKey, from, to)).reverse();
      if (ids.length === 0) return;
      for await (const entry of this.recordsOf(ids)) yield { at: to - entry.i, record: entry.record };
      to = from - 1;
    }
  }

  /** Each message's record, from Redis or else PostgreSQL, with its index in `ids`; ids of neither left out. */
  private async *recordsOf(ids: string[]): AsyncGenerator<{ i: number; record: MessageRecord }> {
    const pipeline = this.client.pipeline();
    for (const id of ids) pipeline.hgetall(this.keys.message(id));
    const results = (await pipeline.exec()) ?? [];
    const hashes = ids.map((_, i) => results[i]?.[1] as Record<string, string> | undefined);
    const missing = ids.filter((_, i) => !hashes[i]?.status);
    const archived = this.archive && missing.length > 0 ? await this.archive.getMany(missing) : undefined;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as string;
      const hash = hashes[i];
      const record = hash?.status ? toRecord(id, hash) : archived?.get(id);
      if (record) yield { i, record };
    }
  }

  /**
   * The messages of a campaign in enqueue order from position `start` (0: the first), each with its position,
   * as export reads them: the cursor of GET /api/campaigns/:id/messages is a position.
   */
  async *entries(campaign: string, start = 0, pageSize = 1000): AsyncGenerator<{ at: number; record: MessageRecord }> {
    const listKey = this.keys.campaignIds(campaign);
    if (this.archive && (await this.client.exists(listKey)) === 0) {
      let at = 0;
      for await (const record of this.archive.export(campaign, pageSize)) {
        if (at >= start) yield { at, record };
        at++;
      }
      return;
    }
    for (let from = start; ; from += pageSize) {
      const ids = await this.client.lrange(listKey, from, from + pageSize - 1);
      if (ids.length === 0) return;
      for await (const { i, record } of this.recordsOf(ids)) yield { at: from + i, record };
      if (ids.length < pageSize) return;
    }
  }
}

/** What a campaign's timeline counts a minute: messages sent (accepted by EngageLab), and delivery states reached. */
export const TIMELINE_KINDS = ['sent', 'delivered', 'read', 'failed'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];
export type TimelinePoint = { at: string } & Record<TimelineKind, number>;
