import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { Redis } from 'ioredis';
import { CampaignOptionError, parseDuration } from '../campaigns/options.js';
import type { Keys } from '../redis/keys.js';
import { isRole, type Role } from './roles.js';

/**
 * API keys: the credentials of the systems that call wa-bulk's HTTP API, each with a name and a role.
 *
 * A key reads `wab_<id>_<secret><check>`: `id` is 8 base62 characters, public (it names the key's record and
 * is shown by `keys list` as its prefix), `secret` 32 base62 characters from the CSPRNG (190 bits), and
 * `check` the CRC32 of what precedes it in 6 base62 characters, so that a scanner (or this module) tells a key
 * from a typo without a lookup, as GitHub's tokens do. Redis keeps only the key's SHA-256: a random key of
 * that length needs no slow hash (nobody can guess it), and a leaked Redis dump gives no key back.
 *
 * This module is the one writer of the key records ({prefix}:apikey:<id>), their index by creation
 * ({prefix}:apikeys) and the name → live id map ({prefix}:apikeys:names). Every request reads its key's
 * record, so a revoked or expired key is refused at once by every dashboard process.
 */

export const KEY_PREFIX = 'wab_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 8;
const SECRET_LENGTH = 32;
const CHECK_LENGTH = 6;
const KEY_SHAPE = new RegExp(
  `^${KEY_PREFIX}([0-9A-Za-z]{${ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH + CHECK_LENGTH}})$`,
);
/** A key's name: it appears in the audit log and as a label of /metrics, so it is short and plain. */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** last_used_at is written at most this often per key and process: not one write per request. */
export const LAST_USED_EVERY_MS = 60_000;

export class KeyError extends Error {
  override name = 'KeyError';
  constructor(
    message: string,
    /** What an HTTP caller gets: 400 for a bad request, 404 for an unknown name, 409 for a name in use. */
    readonly status: 400 | 404 | 409,
  ) {
    super(message);
  }
}

/** `count` characters of ALPHABET, each uniform: bytes >= 248 (4 × 62) are dropped, not folded. */
function base62(count: number): string {
  let out = '';
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      if (byte < 248 && out.length < count) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

function checkOf(text: string): string {
  let n = crc32(text);
  let out = '';
  for (let i = 0; i < CHECK_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

export const digestOf = (key: string): Buffer => createHash('sha256').update(key).digest();

/** The public id of a well-formed key whose check characters match, else undefined. */
export function keyId(presented: string): string | undefined {
  const match = KEY_SHAPE.exec(presented);
  if (!match) return undefined;
  const tail = match[2] as string;
  const body = presented.slice(0, presented.length - CHECK_LENGTH);
  return tail.slice(SECRET_LENGTH) === checkOf(body) ? (match[1] as string) : undefined;
}

export function checkKeyName(name: string, where: string): string {
  if (!KEY_NAME.test(name) || name === 'dashboard')
    throw new KeyError(
      `${where}: expected a name of 1 to 64 letters, digits, "_", "-" or "." (not "dashboard"), got "${name.slice(0, 80)}"`,
      400,
    );
  return name;
}

/** Requests a second: a positive integer, written `N` or `N/s`. */
export function parseRate(text: string, where: string): number {
  const match = /^([1-9]\d{0,5})(\/s)?$/.exec(text.trim());
  if (!match) throw new KeyError(`${where}: expected requests a second such as 20 or 20/s, got "${text}"`, 400);
  return Number(match[1]);
}

/** A key's lifetime or a roll's overlap (`90s`, `10m`, `2h`, `30d`); an overlap may be `0` (none). */
export function parseKeyDuration(text: string, where: string, zero = false): number {
  if (zero && /^0[smhd]?$/.test(text.trim())) return 0;
  try {
    return parseDuration(text, where);
  } catch (error) {
    if (error instanceof CampaignOptionError) throw new KeyError(error.message, 400);
    throw error;
  }
}

export interface KeyRecord {
  id: string;
  name: string;
  role: Role;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  revoked_at: number | null;
  /** Requests a second; null: the API_KEY_RATE default. */
  rate: number | null;
  last_used_at: number | null;
}

export type KeyState = 'active' | 'expired' | 'revoked';

export function stateOf(record: KeyRecord, now = Date.now()): KeyState {
  if (record.revoked_at !== null) return 'revoked';
  if (record.expires_at !== null && record.expires_at <= now) return 'expired';
  return 'active';
}

/** What `keys list` and `GET /api/keys` show of a key: everything but its digest. */
export function describeKey(record: KeyRecord, now = Date.now()) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    name: record.name,
    role: record.role,
    prefix: `${KEY_PREFIX}${record.id}`,
    state: stateOf(record, now),
    created_at: iso(record.created_at),
    created_by: record.created_by,
    last_used_at: iso(record.last_used_at),
    expires_at: iso(record.expires_at),
    revoked_at: iso(record.revoked_at),
    rate: record.rate,
  };
}

/** A key just made: the only time its text exists outside the caller. */
export interface NewKey {
  name: string;
  role: Role;
  key: string;
  prefix: string;
  expires_at: string | null;
}

export type Verdict =
  { ok: true; key: KeyRecord } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired'; name?: string };

const num = (value: string | undefined): number | null => (value ? Number(value) : null);

function recordOf(id: string, hash: Record<string, string>): KeyRecord | undefined {
  if (!hash.name || !isRole(hash.role)) return undefined;
  return {
    id,
    name: hash.name,
    role: hash.role,
    created_at: Number(hash.created_at),
    created_by: hash.created_by ?? '',
    expires_at: num(hash.expires_at),
    revoked_at: num(hash.revoked_at),
    rate: num(hash.rate),
    last_used_at: num(hash.last_used_at),
  };
}

export class ApiKeys {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** A new key for a name that has no live key (an expired or revoked one's name may be reused). */
  async create(options: {
    name: string;
    role: Role;
    expiresInMs?: number;
    rate?: number;
    by: string;
    now?: number;
  }): Promise<NewKey> {
    const name = checkKeyName(options.name, 'name');
    const live = await this.live(name);
    if (live) throw new KeyError(`a key named "${name}" exists; revoke it, or roll it for a new key`, 409);
    return this.write(name, options.role, options.rate ?? null, options);
  }

  /**
   * A new key for the name, with its role and rate; the old one keeps working until `overlapMs` from now (or
   * its own expiry, if sooner), so that its callers can change over without a gap.
   */
  async roll(
    name: string,
    options: { overlapMs: number; expiresInMs?: number; by: string; now?: number },
  ): Promise<NewKey & { old_expires_at: string }> {
    const now = options.now ?? Date.now();
    const old = await this.live(checkKeyName(name, 'name'), now);
    if (!old) throw new KeyError(`no live key named "${name}" ("wa-bulk keys list" shows them)`, 404);
    const until = Math.min(now + options.overlapMs, old.expires_at ?? Infinity);
    const created = await this.write(old.name, old.role, old.rate, { ...options, now });
    await this.redis.hset(this.keys.apiKey(old.id), 'expires_at', String(until));
    return { ...created, old_expires_at: new Date(until).toISOString() };
  }

  /** Revokes every key of the name that still works (a rolled pair included). Returns how many. */
  async revoke(name: string, now = Date.now()): Promise<number> {
    checkKeyName(name, 'name');
    const mine = (await this.list()).filter((r) => r.name === name && stateOf(r, now) === 'active');
    if (mine.length === 0) throw new KeyError(`no live key named "${name}" ("wa-bulk keys list" shows them)`, 404);
    const multi = this.redis.multi();
    for (const record of mine) multi.hset(this.keys.apiKey(record.id), 'revoked_at', String(now));
    multi.hdel(this.keys.apiKeyNames, name);
    await multi.exec();
    return mine.length;
  }

  /** Every key ever made, oldest first (revoked and expired ones too: they say who had access when). */
  async list(): Promise<KeyRecord[]> {
    const ids = await this.redis.zrange(this.keys.apiKeys, '0', '-1');
    if (ids.length === 0) return [];
    const multi = this.redis.multi();
    for (const id of ids) multi.hgetall(this.keys.apiKey(id));
    const replies = (await multi.exec()) ?? [];
    return ids.flatMap((id, i) => recordOf(id, (replies[i]?.[1] as Record<string, string>) ?? {}) ?? []);
  }

  /**
   * Whether a presented key is a live one: found by its public id, its digest compared in constant time,
   * then its revocation and expiry checked. The key itself is never stored, logged or returned.
   */
  async verify(presented: string, now = Date.now()): Promise<Verdict> {
    const id = keyId(presented);
    if (id === undefined) return { ok: false, reason: 'malformed' };
    const hash = await this.redis.hgetall(this.keys.apiKey(id));
    const record = recordOf(id, hash);
    const stored = Buffer.from(hash.digest ?? '', 'hex');
    const given = digestOf(presented);
    if (!record || stored.length !== given.length || !timingSafeEqual(stored, given))
      return { ok: false, reason: 'unknown' };
    const state = stateOf(record, now);
    if (state !== 'active') return { ok: false, reason: state, name: record.name };
    this.touch(id, now);
    return { ok: true, key: record };
  }

  /** Notes a key's use, written at most once a LAST_USED_EVERY_MS per key by this process. */
  private touch(id: string, now: number): void {
    const last = this.touched.get(id) ?? 0;
    if (now - last < LAST_USED_EVERY_MS) return;
    this.touched.set(id, now);
    this.redis.hset(this.keys.apiKey(id), 'last_used_at', String(now)).catch(() => this.touched.delete(id));
  }

  private async live(name: string, now = Date.now()): Promise<KeyRecord | undefined> {
    const id = await this.redis.hget(this.keys.apiKeyNames, name);
    if (!id) return undefined;
    const record = recordOf(id, await this.redis.hgetall(this.keys.apiKey(id)));
    return record && stateOf(record, now) === 'active' ? record : undefined;
  }

  private async write(
    name: string,
    role: Role,
    rate: number | null,
    options: { expiresInMs?: number; by: string; now?: number },
  ): Promise<NewKey> {
    const now = options.now ?? Date.now();
    const expiresAt = options.expiresInMs === undefined ? null : now + options.expiresInMs;
    // A fresh id: 47 bits make a clash unlikely, and HSETNX makes one harmless (another id is drawn).
    for (;;) {
      const id = base62(ID_LENGTH);
      const body = `${KEY_PREFIX}${id}_${base62(SECRET_LENGTH)}`;
      const key = body + checkOf(body);
      const fresh = (await this.redis.hsetnx(this.keys.apiKey(id), 'digest', digestOf(key).toString('hex'))) === 1;
      if (!fresh) continue;
      await this.redis
        .multi()
        .hset(this.keys.apiKey(id), {
          name,
          role,
          created_at: String(now),
          created_by: options.by,
          ...(expiresAt !== null && { expires_at: String(expiresAt) }),
          ...(rate !== null && { rate: String(rate) }),
        })
        .zadd(this.keys.apiKeys, now, id)
        .hset(this.keys.apiKeyNames, name, id)
        .exec();
      return {
        name,
        role,
        key,
        prefix: `${KEY_PREFIX}${id}`,
        expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
      };
    }
  }
}
