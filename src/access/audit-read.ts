import { AuditStore } from '../archive/audit-store.js';
import { revOf, type ArchiveStore } from '../archive/store.js';
import type { AuditEntry, AuditFilter, AuditLog } from './audit.js';

/**
 * The audit entries that match, oldest first, at most `filter.limit`: what Redis holds (RESULT_TTL_DAYS) and,
 * with DATABASE_URL, what PostgreSQL keeps for good (an entry in both counted once).
 */
export async function readAudit(
  audit: AuditLog,
  longTerm: ArchiveStore | undefined,
  filter: AuditFilter,
): Promise<AuditEntry[]> {
  const limit = filter.limit ?? 1000;
  const hot = await audit.read({ ...filter, limit });
  if (!longTerm) return hot;
  const cold = await new AuditStore(longTerm).read({ ...filter, limit });
  const byId = new Map<string, AuditEntry>();
  for (const entry of [...cold, ...hot]) byId.set(entry.id, entry);
  return [...byId.values()]
    .sort((a, b) => (revOf(a.id) < revOf(b.id) ? -1 : revOf(a.id) > revOf(b.id) ? 1 : 0))
    .slice(0, limit);
}
