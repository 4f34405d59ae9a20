import { AuditStore } from '../archive/audit-store.js';
import { revOf, type ArchiveStore } from '../archive/store.js';
import type { AuditEntry, AuditFilter, AuditLog } from './audit.js';

/** What a read of the audit log found: the entries, oldest first, and whether older ones match too. */
export interface AuditPage {
  entries: AuditEntry[];
  /** More entries match than `limit`: older ones, left out (narrow with since, actor or target, or raise limit). */
  more: boolean;
}

/**
 * The newest `filter.limit` entries that match (default 1000), given oldest first: what Redis holds
 * (RESULT_TTL_DAYS) and, with DATABASE_URL, what PostgreSQL keeps for good (an entry in both counted once).
 * The newest, so that a limit never hides the latest changes.
 */
export async function readAudit(
  audit: AuditLog,
  longTerm: ArchiveStore | undefined,
  filter: AuditFilter,
): Promise<AuditPage> {
  const limit = filter.limit ?? 1000;
  // One more than asked for tells whether there are more.
  const hot = await audit.read({ ...filter, limit: limit + 1 });
  const cold = longTerm ? await new AuditStore(longTerm).read({ ...filter, limit: limit + 1 }) : [];
  const byId = new Map<string, AuditEntry>();
  for (const entry of [...cold, ...hot]) byId.set(entry.id, entry);
  const newest = [...byId.values()]
    .sort((a, b) => (revOf(a.id) < revOf(b.id) ? 1 : revOf(a.id) > revOf(b.id) ? -1 : 0))
    .slice(0, limit + 1);
  return { entries: newest.slice(0, limit).reverse(), more: newest.length > limit };
}
