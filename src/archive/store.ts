import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DELIVERY_RANK, type DeliveryStatus, type DeliveryUpdate } from '../ledger/delivery.js';
import {
  RECORD_COLUMNS,
  ROW_TYPES,
  recordOf,
  rowOf,
  type MessageRecord,
  type MessageRow,
  type Snapshot,
  type StoredRow,
} from '../ledger/records.js';

/**
 * The long-term ledger in PostgreSQL (DATABASE_URL): one row per message in wa_bulk_messages, written from
 * the Redis ledger's snapshots by the archiver and read by the ledger once Redis has let a record go
 * (HOT_TTL_SECONDS after it settled). Rows are keyed by (space, request_id), space being the QUEUE_PREFIX.
 *
 * Writes are idempotent: a snapshot replaces a row only when it is newer (`rev`, from its Redis stream entry
 * id) and a delivery state only moves forward (`delivery_rank`), so a batch written twice, or two archivers
 * racing, change nothing.
 */

const COUNT_REUSE_MS = 30_000;
const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'migrations');
/** Any fixed number: the advisory lock that lets one process at a time migrate. */
const MIGRATION_LOCK = 0x7761_6275;

/** A Redis stream id "ms-seq" as one ordered integer. */
export function revOf(streamId: string): bigint {
  const [ms, seq] = streamId.split('-');
  return BigInt(ms ?? 0) * 1_000_000n + BigInt(seq ?? 0);
}

export type { Snapshot } from '../ledger/records.js';

const COLUMNS = Object.keys(ROW_TYPES) as Array<keyof MessageRow>;
/** What a further delivery state changes; a newer snapshot changes the others (but the row's key and rev). */
const DELIVERY_COLUMNS = COLUMNS.filter((c) => c.startsWith('delivery_') || c.startsWith('loss_'));
/** Written once: the custom_args never change, and the first reply is the one kept. */
const ONCE_COLUMNS: ReadonlyArray<keyof MessageRow> = ['custom_args', 'replied_at'];
const STATE_COLUMNS = COLUMNS.filter(
  (c) =>
    !DELIVERY_COLUMNS.includes(c) && !ONCE_COLUMNS.includes(c) && c !== 'space' && c !== 'request_id' && c !== 'rev',
);

const n = COLUMNS.length;
/**
 * One statement, so one round trip and atomic without a transaction: the messages' upsert and, in a second
 * data-modifying CTE (PostgreSQL runs each exactly once), the campaigns' first and last times.
 */
const WRITE = `
WITH written AS (
INSERT INTO wa_bulk_messages AS m (${COLUMNS.join(', ')})
SELECT * FROM unnest(${COLUMNS.map((c, i) => `$${i + 1}::${ROW_TYPES[c]}[]`).join(', ')})
ON CONFLICT (space, request_id) DO UPDATE SET
  ${STATE_COLUMNS.map((c) => `${c} = CASE WHEN excluded.rev > m.rev THEN excluded.${c} ELSE m.${c} END`).join(',\n  ')},
  ${DELIVERY_COLUMNS.map((c) => `${c} = CASE WHEN excluded.delivery_rank > m.delivery_rank THEN excluded.${c} ELSE m.${c} END`).join(',\n  ')},
  ${ONCE_COLUMNS.map((c) => `${c} = COALESCE(m.${c}, excluded.${c})`).join(',\n  ')},
  rev = GREATEST(m.rev, excluded.rev),
  archived_at = now()
WHERE excluded.rev > m.rev OR excluded.delivery_rank > m.delivery_rank
  OR ${ONCE_COLUMNS.map((c) => `(m.${c} IS NULL AND excluded.${c} IS NOT NULL)`).join(' OR ')}
RETURNING 1
), campaigns AS (
INSERT INTO wa_bulk_campaigns AS c (space, campaign, first_at, last_at)
SELECT ($1::text[])[1], t.campaign, to_timestamp(t.f / 1000.0), to_timestamp(t.l / 1000.0)
FROM unnest($${n + 1}::text[], $${n + 2}::float8[], $${n + 3}::float8[]) AS t(campaign, f, l)
ON CONFLICT (space, campaign) DO UPDATE SET first_at = LEAST(c.first_at, excluded.first_at), last_at = GREATEST(c.last_at, excluded.last_at)
RETURNING 1
)
SELECT count(*)::int AS written FROM written`;

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

  /**
   * Applies the migrations in src/archive/migrations that this database has not had, in name order, each
   * in its own transaction, under an advisory lock so that processes starting together do not race.
   */
  async migrate(): Promise<string[]> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS wa_bulk_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await client.query<{ name: string }>('SELECT name FROM wa_bulk_migrations')).rows.map((r) => r.name),
      );
      const applied: string[] = [];
      for (const file of readdirSync(MIGRATIONS)
        .filter((f) => f.endsWith('.sql'))
        .sort()) {
        if (done.has(file)) continue;
        await client.query('BEGIN');
        try {
          await client.query(readFileSync(join(MIGRATIONS, file), 'utf8'));
          await client.query('INSERT INTO wa_bulk_migrations (name) VALUES ($1)', [file]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(file);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
      client.release();
    }
  }

  /**
   * Writes snapshots (stream id → snapshot) in one statement; several snapshots of one message keep the
   * newest. Returns the rows written or changed.
   */
  async write(entries: ReadonlyArray<{ id: string; snapshot: Snapshot }>): Promise<number> {
    if (entries.length === 0) return 0;
    const newest = new Map<string, { rev: bigint; snapshot: Snapshot }>();
    for (const { id, snapshot } of entries) {
      const rev = revOf(id);
      const seen = newest.get(snapshot.request_id);
      if (!seen || rev > seen.rev) newest.set(snapshot.request_id, { rev, snapshot });
    }
    const columns: unknown[][] = COLUMNS.map(() => []);
    const campaigns = new Map<string, { first: number; last: number }>();
    for (const { rev, snapshot } of newest.values()) {
      const row = rowOf(this.space, snapshot, rev);
      for (let i = 0; i < COLUMNS.length; i++) (columns[i] as unknown[]).push(row[COLUMNS[i] as keyof MessageRow]);
      const at = Number(snapshot.created_at ?? snapshot.updated_at ?? 0);
      const c = campaigns.get(snapshot.campaign ?? '');
      campaigns.set(snapshot.campaign ?? '', {
        first: Math.min(c?.first ?? at, at),
        last: Math.max(c?.last ?? at, at),
      });
    }
    const ids = [...campaigns.keys()];
    const { rows } = await this.pool.query<{ written: number }>(WRITE, [
      ...columns,
      ids,
      ids.map((id) => campaigns.get(id)?.first ?? 0),
      ids.map((id) => campaigns.get(id)?.last ?? 0),
    ]);
    return rows[0]?.written ?? 0;
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
    const hash = await this.countCampaign(campaign);
    if (this.counted.size >= 2000) this.counted.clear();
    this.counted.set(campaign, { at: Date.now(), hash });
    return hash;
  }

  private async countCampaign(campaign: string): Promise<Record<string, string>> {
    const { rows } = await this.query<{
      status: string;
      error_code: number | null;
      reason: string | null;
      delivery_status: string | null;
      delivery_error_code: number | null;
      n: string;
      first_at: Date | null;
      last_at: Date | null;
    }>(
      `SELECT status, CASE WHEN status = 'dead' THEN error_code END AS error_code,
         CASE WHEN status = 'skipped' THEN reason END AS reason,
         CASE WHEN status = 'sent' THEN delivery_status END AS delivery_status,
         CASE WHEN status = 'sent' AND delivery_status = 'failed' THEN delivery_error_code END AS delivery_error_code,
         count(*) AS n, min(updated_at) FILTER (WHERE status IN ('sent', 'dead')) AS first_at,
         max(updated_at) FILTER (WHERE status <> 'pending') AS last_at
       FROM wa_bulk_messages WHERE space = $1 AND campaign = $2 GROUP BY 1, 2, 3, 4, 5`,
      [this.space, campaign],
    );
    const hash: Record<string, number> = {};
    const add = (field: string, n: number) => (hash[field] = (hash[field] ?? 0) + n);
    const keep = (field: string, at: Date | null, pick: (a: number, b: number) => number) => {
      if (at) hash[field] = pick(hash[field] ?? at.getTime(), at.getTime());
    };
    for (const row of rows) {
      const n = Number(row.n);
      add('total', n);
      if (row.status !== 'pending') add(row.status, n);
      if (row.status === 'dead') add(`dead_code:${row.error_code ?? 'none'}`, n);
      if (row.status === 'skipped') add(`skipped:${row.reason ?? 'none'}`, n);
      if (row.delivery_status) add(`delivery:${row.delivery_status}`, n);
      if (row.delivery_status === 'failed') add(`delivery_code:${row.delivery_error_code ?? 'none'}`, n);
      keep('started_at', row.first_at, Math.min);
      keep('last_at', row.last_at, Math.max);
    }
    return Object.fromEntries(Object.entries(hash).map(([k, v]) => [k, String(v)]));
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
