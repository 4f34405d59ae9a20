import { CampaignOptionError, parseDuration } from '../campaigns/options.js';
import type { Config } from '../config.js';
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

/** The audit entries that match, oldest first: what Redis holds (RESULT_TTL_DAYS). */
export async function readAudit(audit: AuditLog, _config: Config, filter: AuditFilter): Promise<AuditEntry[]> {
  return audit.read(filter);
}
