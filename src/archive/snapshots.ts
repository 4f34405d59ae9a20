import type pg from 'pg';
import { ROW_TYPES, rowOf, type MessageRow, type Snapshot } from '../ledger/rows.js';

/**
 * The archiver's write: the Redis ledger's snapshots upserted into wa_bulk_messages, and their campaigns' first
 * and last times into wa_bulk_campaigns. Idempotent: a snapshot replaces a row only when it is newer (`rev`,
 * from its Redis stream entry id) and a delivery state only moves forward (`delivery_rank`), so a batch written
 * twice, or two archivers racing, change nothing.
 */

/** A Redis stream id "ms-seq" as one ordered integer. */
export function revOf(streamId: string): bigint {
  const [ms, seq] = streamId.split('-');
  return BigInt(ms ?? 0) * 1_000_000n + BigInt(seq ?? 0);
}

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

/**
 * Writes snapshots (stream id → snapshot) in one statement; several snapshots of one message keep the
 * newest. Returns the rows written or changed.
 */
export async function writeSnapshots(
  pool: pg.Pool,
  space: string,
  entries: ReadonlyArray<{ id: string; snapshot: Snapshot }>,
): Promise<number> {
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
    const row = rowOf(space, snapshot, rev);
    for (let i = 0; i < COLUMNS.length; i++) (columns[i] as unknown[]).push(row[COLUMNS[i] as keyof MessageRow]);
    const at = Number(snapshot.created_at ?? snapshot.updated_at ?? 0);
    const c = campaigns.get(snapshot.campaign ?? '');
    campaigns.set(snapshot.campaign ?? '', {
      first: Math.min(c?.first ?? at, at),
      last: Math.max(c?.last ?? at, at),
    });
  }
  const ids = [...campaigns.keys()];
  const { rows } = await pool.query<{ written: number }>(WRITE, [
    ...columns,
    ids,
    ids.map((id) => campaigns.get(id)?.first ?? 0),
    ids.map((id) => campaigns.get(id)?.last ?? 0),
  ]);
  return rows[0]?.written ?? 0;
}
