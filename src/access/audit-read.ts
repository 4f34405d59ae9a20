import { CampaignOptionError, parseDuration } from '../campaigns/options.js';
import { AuditStore } from '../archive/audit-store.js';
import { revOf, type ArchiveStore } from '../archive/store.js';
import type { AuditEntry, AuditFilter, AuditLog } from './audit.js';

/**
 * `--since` and `?since=`: an ISO 8601 time with an offset, or a duration meaning that long ago (`2h`, `-2h`,
 * `7d`).
 */
export function parseSince(text: string, option: string, now = Date.now()): number {
  const value = text.trim();
  if (/^-?\d+[smhd]$/.test(value)) return now - parseDuration(value.replace(/^-/, ''), option);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/.test(value) || Number.isNaN(Date.parse(value)))
    throw new CampaignOptionError(
      option,
      `expected an ISO 8601 time with an offset (e.g. 2026-12-24T09:00:00+01:00) or a duration ago such as 2h, got "${text}"`,
    );
  return Date.parse(value);
}

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
