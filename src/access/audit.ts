import { userInfo } from 'node:os';
import type { Redis } from 'ioredis';
import { maskPhonesIn } from '../log.js';
import type { Keys } from '../redis/keys.js';

/**
 * The audit log: who changed what, when, from where, and how it went. Every entry is appended to one Redis
 * stream ({prefix}:audit), trimmed by age on each append (XADD MINID: entries older than RESULT_TTL_DAYS go),
 * so it stays bounded whatever the traffic; with DATABASE_URL the archiver copies each entry to PostgreSQL,
 * where it stays (src/archive/audit-store.ts).
 *
 * Actors: an API key's name, `dashboard` (the operator's login or, without DASHBOARD_PASSWORD, the browser
 * on this machine), `cli:<OS user>`, `system:<part>` (the quality guard, a callback notification, a keyword opt-out, the outage
 * breaker, housekeeping, the send worker). Parameters never carry a credential (redact) and phone numbers in
 * them are masked. Refused credentials are recorded too, at most REFUSED_PER_MINUTE a minute across the
 * fleet, so that a flood of guesses cannot fill Redis.
 */

export const REFUSED_PER_MINUTE = 20;
const PARAMS_MAX_CHARS = 2000;
const SECRET_FIELD = /pass|secret|token|authorization|cookie|^key$|credential/i;

export interface AuditEntry {
  /** The stream id: orders entries, and names one in PostgreSQL. */
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  params: Record<string, unknown>;
  /** `ok`, or what went wrong: `refused 403`, `failed 500`, `exit 1`. */
  outcome: string;
  ip: string | null;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'at' | 'target' | 'params' | 'ip'> & {
  target?: string | null;
  params?: Record<string, unknown>;
  ip?: string | null;
  at?: number;
};

/** The actor name of this process's OS user. */
/** The actions the campaigns page names beside a campaign ("paused by crm at …"). */
export const CAMPAIGN_ACTIONS = ['campaign.pause', 'campaign.resume', 'campaign.cancel'] as const;

export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/** Parameters fit to keep: credentials replaced, phone numbers masked, nesting and length bounded. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhonesIn(value.length > 500 ? `${value.slice(0, 500)}…` : value);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 3) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, 20).map((v) => redact(v, depth + 1));
    return value.length > 20 ? [...items, `… ${value.length - 20} more`] : items;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 30))
    out[k] = SECRET_FIELD.test(k) ? '[redacted]' : redact(v, depth + 1);
  return out;
}

function paramsText(params: Record<string, unknown> | undefined): string {
  const text = JSON.stringify(redact(params ?? {}));
  return text.length <= PARAMS_MAX_CHARS ? text : JSON.stringify({ truncated: text.slice(0, PARAMS_MAX_CHARS) });
}

function entryOf(id: string, fields: string[]): AuditEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  let params: Record<string, unknown> = {};
  try {
    params = JSON.parse(f.params ?? '{}') as Record<string, unknown>;
  } catch {
    // An entry written by hand: keep the rest of it.
  }
  return {
    id,
    at: new Date(Number(f.at ?? id.split('-')[0])).toISOString(),
    actor: f.actor ?? '',
    action: f.action ?? '',
    target: f.target || null,
    params,
    outcome: f.outcome ?? '',
    ip: f.ip || null,
  };
}

/** An audit stream entry's fields (the archiver reads them back with `parseAuditEntry`). */
export const parseAuditEntry = entryOf;

export interface AuditFilter {
  /** Milliseconds since the epoch: entries at or after it. */
  since?: number;
  actor?: string;
  /** Only entries about this target (a campaign id, a key name, …). */
  target?: string;
  limit?: number;
}

export class AuditLog {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** How long Redis keeps an entry: RESULT_TTL_DAYS. */
    private readonly keepMs: number,
  ) {}

  /** Appends one entry; returns its id. */
  async record(input: AuditInput): Promise<string> {
    const at = input.at ?? Date.now();
    const oldest = Math.max(0, at - this.keepMs);
    const id = await this.redis.xadd(
      this.keys.audit,
      // Exact, not `~`: an audit stream is small and grows slowly, and "kept RESULT_TTL_DAYS" should hold.
      'MINID',
      String(oldest),
      '*',
      'at',
      String(at),
      'actor',
      input.actor,
      'action',
      input.action,
      'target',
      input.target ?? '',
      'params',
      paramsText(input.params),
      'outcome',
      input.outcome,
      'ip',
      input.ip ?? '',
    );
    return id as string;
  }

  /**
   * What wa-bulk did by itself (actor `system:<part>`), recorded beside the act: a failure to record is
   * dropped, since the act is done and Redis being away already fails what surrounds it.
   */
  async note(input: Omit<AuditInput, 'outcome'> & { outcome?: string }): Promise<void> {
    await this.record({ outcome: 'ok', ...input }).catch(() => {});
  }

  /**
   * A refused credential (a wrong login, an unknown, revoked or expired key): recorded unless the fleet has
   * recorded REFUSED_PER_MINUTE this minute; the last one recorded says that more are left out.
   */
  async refused(input: AuditInput): Promise<boolean> {
    const minute = Math.floor(Date.now() / 60_000);
    const key = this.keys.auditRefused(minute);
    const [[, count] = [null, 0]] = ((await this.redis.multi().incr(key).expire(key, 120).exec()) ?? []) as Array<
      [Error | null, number]
    >;
    if (count > REFUSED_PER_MINUTE) return false;
    const outcome =
      count === REFUSED_PER_MINUTE ? `${input.outcome}; further refusals this minute are not recorded` : input.outcome;
    await this.record({ ...input, outcome });
    return true;
  }

  /** The newest entries Redis still holds that match, newest first, at most `limit` (default 1000). */
  async read(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const limit = filter.limit ?? 1000;
    const out: AuditEntry[] = [];
    const oldest = filter.since === undefined ? '-' : String(filter.since);
    let to = '+';
    for (;;) {
      const page = (await this.redis.xrevrange(this.keys.audit, to, oldest, 'COUNT', 500)) as Array<[string, string[]]>;
      for (const [id, fields] of page) {
        const entry = entryOf(id, fields);
        if (matches(entry, filter)) out.push(entry);
        if (out.length >= limit) return out;
      }
      const last = page.at(-1);
      if (!last || page.length < 500) return out;
      to = `(${last[0]}`;
    }
  }

  /**
   * For each target, the latest successful entry among `actions` in the newest `scan` entries (who paused a
   * campaign, and when): what the campaigns page shows beside each campaign.
   */
  async latestByTarget(
    actions: readonly string[],
    scan = 2000,
  ): Promise<Record<string, Pick<AuditEntry, 'actor' | 'action' | 'at'>>> {
    const page = (await this.redis.xrevrange(this.keys.audit, '+', '-', 'COUNT', scan)) as Array<[string, string[]]>;
    const out: Record<string, Pick<AuditEntry, 'actor' | 'action' | 'at'>> = {};
    for (const [id, fields] of page) {
      const { target, action, actor, at, outcome } = entryOf(id, fields);
      if (target !== null && !(target in out) && outcome === 'ok' && actions.includes(action))
        out[target] = { actor, action, at };
    }
    return out;
  }
}

export function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.since !== undefined && Date.parse(entry.at) < filter.since) return false;
  if (filter.actor !== undefined && entry.actor !== filter.actor) return false;
  if (filter.target !== undefined && entry.target !== filter.target) return false;
  return true;
}
