import pg from 'pg';
import { DELIVERY_RANK, type DeliveryStatus, type DeliveryUpdate } from '../ledger/delivery.js';
import type { MessageRecord } from '../ledger/records.js';
import { RECORD_COLUMNS, recordOf, type Snapshot, type StoredRow } from '../ledger/rows.js';
import { CAMPAIGN_COUNTS, campaignHashOf, type CountRow } from './campaign-counts.js';
import { migrate } from './migrate.js';
import { writeSnapshots } from './snapshots.js';

export { revOf } from './snapshots.js';
export type { Snapshot } from '../ledger/rows.js';

/**
 * The long-term ledger in PostgreSQL (DATABASE_URL): one row per message in wa_bulk_messages, written from
 * the Redis ledger's snapshots by the archiver and read by the ledger once Redis has let a record go
 * (HOT_TTL_SECONDS after it settled). Rows are keyed by (space, request_id), space being the QUEUE_PREFIX.
 *
 * Its schema comes from ./migrate.ts, its writes from ./snapshots.ts (idempotent: see there); a campaign's
 * counts are ./campaign-counts.ts's.
 */

const COUNT_REUSE_MS = 30_000;

export class ArchiveStore {
  readonly pool: pg.Pool;

  constructor(
    url: string,
    readonly space: string,
    options: { max?: number } = {},
  ) {
    // A short connect timeout: while PostgreSQL is away the archiver backs off and readers say so at once.
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 4,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 30_000,
    });
    // A server that goes away (a restart, a failover) makes its clients emit 'error', idle or mid-query:
    // the pool drops an idle one, a query in flight rejects, and that rejection is how callers hear of it.
    this.pool.on('error', () => {});
    this.pool.on('connect', (client) => client.on('error', () => {}));
  }

  /** Applies the migrations this database has not had (./migrate.ts). */
  migrate(): Promise<string[]> {
    return migrate(this.pool);
  }

  /**
   * Writes snapshots (stream id → snapshot) in one statement; several snapshots of one message keep the
   * newest. Returns the rows written or changed.
   */
  write(entries: ReadonlyArray<{ id: string; snapshot: Snapshot }>): Promise<number> {
    return writeSnapshots(this.pool, this.space, entries);
  }

  /** A read; a failure names PostgreSQL, so a CLI user knows which part is away. */
  private async query<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (error) {
      // 42P01 undefined_table: no worker or dashboard has started against this database yet.
      if ((error as { code?: string }).code === '42P01')
        throw new Error(
          'PostgreSQL (DATABASE_URL) has no wa-bulk tables yet: a worker or the dashboard creates them as it starts',
          { cause: error },
        );
      throw new Error(`PostgreSQL (DATABASE_URL): ${(error as Error).message}`, { cause: error });
    }
  }

  async get(requestId: string): Promise<MessageRecord | undefined> {
    const { rows } = await this.query<StoredRow>(
      `SELECT ${RECORD_COLUMNS} FROM wa_bulk_messages WHERE space = $1 AND request_id = $2`,
      [this.space, requestId],
    );
    return rows[0] ? recordOf(rows[0]) : undefined;
  }

  /** The records of these request_ids that the archive holds. */
  async getMany(requestIds: readonly string[]): Promise<Map<string, MessageRecord>> {
    if (requestIds.length === 0) return new Map();
    const { rows } = await this.query<StoredRow>(
      `SELECT ${RECORD_COLUMNS} FROM wa_bulk_messages WHERE space = $1 AND request_id = ANY($2::text[])`,
      [this.space, requestIds],
    );
    return new Map(rows.map((row) => [row.request_id, recordOf(row)]));
  }

  async locate(messageId: string): Promise<{ requestId: string; campaign: string } | undefined> {
    const { rows } = await this.query<{ request_id: string; campaign: string }>(
      'SELECT request_id, campaign FROM wa_bulk_messages WHERE message_id = $1 AND space = $2 LIMIT 1',
      [messageId, this.space],
    );
    return rows[0] ? { requestId: rows[0].request_id, campaign: rows[0].campaign } : undefined;
  }

  /** Every archived message of a campaign in enqueue order, in pages (keyset, so memory stays flat). */
  async *export(campaign: string, pageSize = 1000): AsyncGenerator<MessageRecord> {
    let after: [string, string] = ['-1', ''];
    for (;;) {
      const { rows } = await this.query<StoredRow>(
        `SELECT ${RECORD_COLUMNS} FROM wa_bulk_messages WHERE space = $1 AND campaign = $2 AND (seq, request_id) > ($3::bigint, $4) ORDER BY seq, request_id LIMIT $5`,
        [this.space, campaign, after[0], after[1], pageSize],
      );
      for (const row of rows) yield recordOf(row);
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      after = [last.seq, last.request_id];
    }
  }

  /**
   * A campaign's messages newest first from enqueue place `start` down (0 the first; undefined: the newest),
   * each with its place (seq, from 1), as Ledger.entriesNewestFirst reads them once Redis has let it go.
   */
  async *exportNewestFirst(
    campaign: string,
    start: number | undefined,
    pageSize = 1000,
  ): AsyncGenerator<{ seq: number; record: MessageRecord }> {
    let before: [string, string] = [String(start === undefined ? Number.MAX_SAFE_INTEGER : start + 2), ''];
    for (;;) {
      const { rows } = await this.query<StoredRow>(
        `SELECT ${RECORD_COLUMNS} FROM wa_bulk_messages WHERE space = $1 AND campaign = $2 AND (seq, request_id) < ($3::bigint, $4) ORDER BY seq DESC, request_id DESC LIMIT $5`,
        [this.space, campaign, before[0], before[1], pageSize],
      );
      for (const row of rows) yield { seq: Number(row.seq), record: recordOf(row) };
      const last = rows.at(-1);
      if (!last || rows.length < pageSize) return;
      before = [last.seq, last.request_id];
    }
  }

  private readonly counted = new Map<string, { at: number; hash: Record<string, string> }>();

  /**
   * A campaign's counters, as the Redis campaign hash would hold them (toCampaign reads either). Counting
   * reads every row of the campaign, so an answer is reused for COUNT_REUSE_MS: a campaign only PostgreSQL
   * holds is finished and changes only with late delivery callbacks.
   */
  async campaignHash(campaign: string): Promise<Record<string, string>> {
    const cached = this.counted.get(campaign);
    if (cached && Date.now() - cached.at < COUNT_REUSE_MS) return cached.hash;
    const { rows } = await this.query<CountRow>(CAMPAIGN_COUNTS, [this.space, campaign]);
    const hash = campaignHashOf(rows);
    if (this.counted.size >= 2000) this.counted.clear();
    this.counted.set(campaign, { at: Date.now(), hash });
    return hash;
  }

  /** The campaigns the archive holds, newest first. */
  async campaigns(limit = 1000): Promise<Array<{ campaign: string; last_at: Date }>> {
    const { rows } = await this.query<{ campaign: string; last_at: Date }>(
      'SELECT campaign, last_at FROM wa_bulk_campaigns WHERE space = $1 ORDER BY last_at DESC LIMIT $2',
      [this.space, limit],
    );
    return rows;
  }

  /**
   * A delivery update for a message Redis no longer holds: moves the row's delivery forward. Returns the
   * state before (null for none) and its error code, or undefined when there is no such row or it is not
   * further.
   */
  async applyDelivery(
    requestId: string,
    u: DeliveryUpdate,
  ): Promise<{ previous: DeliveryStatus | null; previousCode: number | null } | undefined> {
    const { rows } = await this.query<{ previous: string | null; previous_code: number | null }>(
      `WITH old AS (SELECT delivery_status, delivery_error_code FROM wa_bulk_messages WHERE space = $1 AND request_id = $2 FOR UPDATE)
       UPDATE wa_bulk_messages m SET delivery_status = $3, delivery_rank = $4, delivery_at = to_timestamp($5 / 1000.0),
         delivery_error_code = $6, delivery_error = $7, loss_step = $8, loss_source = $9, archived_at = now()
       FROM old WHERE m.space = $1 AND m.request_id = $2 AND m.delivery_rank < $4
       RETURNING old.delivery_status AS previous, old.delivery_error_code AS previous_code`,
      [
        this.space,
        requestId,
        u.status,
        DELIVERY_RANK[u.status],
        u.at,
        u.errorCode,
        u.error,
        u.lossStep === null ? null : String(u.lossStep),
        u.lossSource,
      ],
    );
    const row = rows[0];
    return (
      row && { previous: (row.previous as DeliveryStatus | null) ?? null, previousCode: row.previous_code ?? null }
    );
  }

  /**
   * The first reply to each message (request_id → epoch ms), for rows written before their recipient
   * answered: a later answer, or one already kept, changes nothing. Returns the rows changed.
   */
  async noteReplies(replies: ReadonlyArray<{ requestId: string; at: number }>): Promise<number> {
    if (replies.length === 0) return 0;
    const { rowCount } = await this.pool.query(
      `UPDATE wa_bulk_messages m SET replied_at = to_timestamp(r.at / 1000.0), archived_at = now()
       FROM unnest($2::text[], $3::float8[]) AS r(request_id, at)
       WHERE m.space = $1 AND m.request_id = r.request_id AND m.replied_at IS NULL`,
      [this.space, replies.map((r) => r.requestId), replies.map((r) => r.at)],
    );
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
