import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ArchiveStore } from '../archive/store.js';
import type { CostEstimate } from '../preflight/cost.js';
import type { DeadError } from '../queue.js';
import { keys } from '../redis/keys.js';
import type { RemoveVerdict, EnqueueVerdict } from '../scripts/index.js';
import { groupBacklog } from '../events/feed.js';
import type { DeliveryStatus, DeliveryUpdate } from './delivery.js';
import * as deliveries from './delivery-writes.js';
import { enqueueMessages, type EnqueueControl, type EnqueueItem } from './enqueue.js';
import * as notes from './notes.js';
import * as operator from './operator-writes.js';
import { LedgerReads } from './reads.js';
import type { SkipReason } from './reasons.js';
import type { LedgerScope } from './scope.js';
import { SentBatch, clearInflight, learnMessageId, markSkipped, settleOne, type SentOutcome } from './settle.js';

export * from './records.js';
export type { DeliveriesResult } from './delivery-writes.js';

/**
 * The ledger: what happened to every message, keyed by request_id, kept RESULT_TTL_DAYS. It owns these
 * records and writes them through the scripts of src/scripts/; the message record's fields are named in
 * src/scripts/includes/message-record.lua (which every script touching a message includes) and, in
 * TypeScript, in ./records.ts only.
 *
 *   {prefix}:msg:{request_id}    hash: the message record (see message-record.lua)
 *   {prefix}:mid:{message_id}    "<campaign>|<request_id>": the reverse index delivery callbacks need
 *   {prefix}:campaign:{id}       hash: total, sent, dead, delivery:<state> (its state fields are Campaigns')
 *   {prefix}:campaign:{id}:ids   list of request_ids, in enqueue order (export)
 *   {prefix}:campaign:{id}:minutes  hash: sends and delivery states by minute (the campaign's timeline)
 *   {prefix}:campaigns           sorted set: campaign id by its last enqueue (ms)
 *
 * This class is the one callers use; each concern lives in a module of its own, which it delegates to:
 * reads (./reads.ts, its base class), the enqueue path (./enqueue.ts), the send path's outcomes
 * (./settle.ts), delivery callbacks (./delivery-writes.ts), an operator's cancel, removal and replay
 * (./operator-writes.ts), and the notes written from TypeScript rather than by a script (./notes.ts).
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

export interface LongTermLedger {
  store: ArchiveStore;
  /** How long Redis keeps a settled record (HOT_TTL_SECONDS). */
  hotTtlSeconds: number;
}

export class Ledger extends LedgerReads {
  private readonly scope: LedgerScope;
  private readonly sent: SentBatch;

  constructor(
    client: Redis,
    prefix: string,
    private readonly ttlDays: number,
    readonly longTerm?: LongTermLedger,
  ) {
    super(client, keys(prefix), longTerm?.store);
    this.scope = {
      client,
      keys: this.keys,
      archive: this.archive,
      ttlSeconds: this.ttlSeconds,
      settledTtlSeconds: this.settledTtlSeconds,
      idFrom: (longTerm ? 1 : -1) * (this.keys.message('').length + 1),
    };
    this.sent = new SentBatch(this.scope);
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

  // The enqueue path (./enqueue.ts).

  /** Records new messages as pending and adds their send jobs to their lane's queue, in one script. */
  enqueue(
    campaign: string,
    lane: string,
    items: readonly EnqueueItem[],
    job: { name: string; options: JobsOptions },
    dryRun = false,
    control: EnqueueControl = {},
  ): Promise<EnqueueVerdict[]> {
    return enqueueMessages(this.scope, campaign, lane, items, job, dryRun, control);
  }

  // Notes written from TypeScript (./notes.ts).

  noteTemplates(bodies: ReadonlyArray<{ type: string; template?: { name: string; language: string } }>): Promise<void> {
    return notes.noteTemplates(this.scope, bodies);
  }

  noteTraces(traces: ReadonlyArray<{ requestId: string; traceparent: string }>): Promise<void> {
    return notes.noteTraces(this.scope, traces);
  }

  noteReply(requestId: string, at: number): Promise<void> {
    return notes.noteReply(this.scope, requestId, at);
  }

  noteEnqueued(campaign: string, counts: ReadonlyMap<string, number>): Promise<void> {
    return notes.noteEnqueued(this.scope, campaign, counts);
  }

  noteCostEstimate(campaign: string, estimate: CostEstimate): Promise<void> {
    return notes.noteCostEstimate(this.scope, campaign, estimate);
  }

  noteOpen(campaign: string): Promise<void> {
    return notes.noteOpen(this.scope, campaign);
  }

  // The send path's outcomes (./settle.ts).

  clearInflight(requestId: string): Promise<void> {
    return clearInflight(this.scope, requestId);
  }

  /**
   * Returns 'orphans' when delivery callbacks for this message_id arrived first (apply them now). Calls made
   * in the same turn of the event loop share one script call.
   */
  markSent(requestId: string, campaign: string, messageId: string): Promise<SentOutcome> {
    return this.sent.markSent(requestId, campaign, messageId);
  }

  markDead(requestId: string, campaign: string, error: DeadError): Promise<boolean> {
    return settleOne(this.scope, requestId, campaign, 'dead', error);
  }

  markSkipped(requestId: string, campaign: string, reason: SkipReason): Promise<boolean> {
    return markSkipped(this.scope, requestId, campaign, reason);
  }

  /** A status callback's message_id for a request whose answer wa-bulk never learned (see ./settle.ts). */
  async learnMessageId(
    requestId: string,
    messageId: string,
  ): Promise<{ campaign: string; previous: 'pending' | 'dead'; orphans: boolean } | undefined> {
    return learnMessageId(this.scope, requestId, await this.get(requestId), messageId);
  }

  // Delivery callbacks (./delivery-writes.ts).

  applyDelivery(
    message: deliveries.LocatedMessage,
    u: DeliveryUpdate,
  ): Promise<{ previous: DeliveryStatus | null } | undefined> {
    return deliveries.applyDelivery(this.scope, message, u);
  }

  applyDeliveries(
    rows: readonly deliveries.DeliveryRow[],
    orphans: deliveries.OrphanBounds,
  ): Promise<Array<{ result: deliveries.DeliveriesResult; previous: DeliveryStatus | null }>> {
    return deliveries.applyDeliveries(this.scope, rows, orphans);
  }

  // An operator's cancel, removal and replay (./operator-writes.ts).

  skipCancelled(
    campaign: string,
    messages: ReadonlyArray<{ requestId: string; to: string; removed: boolean }>,
  ): Promise<boolean[]> {
    return operator.skipCancelled(this.scope, campaign, messages);
  }

  skipRemoved(requestId: string, to: string, campaign: string, jobRemoved: boolean): Promise<RemoveVerdict> {
    return operator.skipRemoved(this.scope, requestId, to, campaign, jobRemoved);
  }

  revive(requestId: string, campaign: string): Promise<boolean> {
    return operator.revive(this.scope, requestId, campaign);
  }
}
