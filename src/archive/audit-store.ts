import type { AuditEntry, AuditFilter } from '../access/audit.js';
import { revOf, type ArchiveStore } from './store.js';

/**
 * The audit log in PostgreSQL (wa_bulk_audit, migration 002): written by the archiver from the audit stream,
 * once per entry whatever happens (the stream id is the key), read by `wa-bulk audit` and `GET /api/audit`
 * for what Redis no longer holds. It shares the long-term ledger's pool.
 */
export class AuditStore {
  constructor(private readonly store: ArchiveStore) {}

  async write(entries: readonly AuditEntry[]): Promise<number> {
    if (entries.length === 0) return 0;
    const column = <K extends keyof AuditEntry>(k: K) => entries.map((e) => e[k]);
    const { rowCount } = await this.store.pool.query(
      `INSERT INTO wa_bulk_audit (space, id, rev, at, actor, action, target, params, outcome, ip)
       SELECT $1, t.id, t.rev, t.at, t.actor, t.action, t.target, t.params, t.outcome, t.ip
       FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[], $10::text[])
         AS t(id, rev, at, actor, action, target, params, outcome, ip)
       ON CONFLICT (space, id) DO NOTHING`,
      [
        this.store.space,
        column('id'),
        entries.map((e) => revOf(e.id).toString()),
        column('at'),
        column('actor'),
        column('action'),
        column('target'),
        entries.map((e) => JSON.stringify(e.params)),
        column('outcome'),
        column('ip'),
      ],
    );
    return rowCount ?? 0;
  }

  /** The newest entries that match, newest first. */
  async read(filter: AuditFilter): Promise<AuditEntry[]> {
    // A row is an entry whose time PostgreSQL gives as a Date.
    const { rows } = await this.store.pool.query<Omit<AuditEntry, 'at'> & { at: Date }>(
      `SELECT id, at, actor, action, target, params, outcome, ip FROM wa_bulk_audit
       WHERE space = $1 AND at >= to_timestamp($2 / 1000.0) AND ($3::text IS NULL OR actor = $3)
         AND ($4::text IS NULL OR target = $4)
       ORDER BY rev DESC LIMIT $5`,
      [this.store.space, filter.since ?? 0, filter.actor ?? null, filter.target ?? null, filter.limit ?? 1000],
    );
    return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
  }
}
