/**
 * A campaign's counters counted from its archived rows, as the Redis campaign hash would hold them (toCampaign
 * reads either): one grouped query (CAMPAIGN_COUNTS, parameters space and campaign) and the hash made of its rows.
 */

/** A row of CAMPAIGN_COUNTS: one status, reason, code and delivery state, and how many messages have them. */
export interface CountRow {
  status: string;
  error_code: number | null;
  reason: string | null;
  delivery_status: string | null;
  delivery_error_code: number | null;
  n: string;
  first_at: Date | null;
  last_at: Date | null;
}

export const CAMPAIGN_COUNTS = `SELECT status, CASE WHEN status = 'dead' THEN error_code END AS error_code,
    CASE WHEN status = 'skipped' THEN reason END AS reason,
    CASE WHEN status = 'sent' THEN delivery_status END AS delivery_status,
    CASE WHEN status = 'sent' AND delivery_status = 'failed' THEN delivery_error_code END AS delivery_error_code,
    count(*) AS n, min(updated_at) FILTER (WHERE status IN ('sent', 'dead')) AS first_at,
    max(updated_at) FILTER (WHERE status <> 'pending') AS last_at
  FROM wa_bulk_messages WHERE space = $1 AND campaign = $2 GROUP BY 1, 2, 3, 4, 5`;

export function campaignHashOf(rows: readonly CountRow[]): Record<string, string> {
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
