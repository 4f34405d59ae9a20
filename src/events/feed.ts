import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Keys } from '../redis/keys.js';

/**
 * The change feed, {prefix}:archive (src/scripts/includes/feed.lua says what an entry holds): the ledger's
 * scripts append every change of a message to it, and the modules that own a campaign's state, the fleet's
 * pause and the opt-outs append theirs with the same transaction that makes the change (appendWith). Its
 * readers are consumer groups: `archivers` (the long-term ledger) and `webhooks:<id>`, one a webhook endpoint
 * (the dispatcher, see ../events/endpoints.ts). An entry
 * goes once every group has read and acknowledged it (trimFeed), and the stream never holds more than its
 * cap (FEED_MAX_ENTRIES): past it the oldest entries go, read or not, and a line says how many a group lost.
 */

/** One entry: what happened, its subject, its data (a message's record as [field, value, …], else an object). */
export interface FeedEntry {
  id: string;
  kind: string;
  subject: string;
  data: string;
}

/** An XREADGROUP / XRANGE entry as ioredis returns it. */
export type RawEntry = [string, string[] | null];

export function entryOf([id, fields]: RawEntry): FeedEntry | undefined {
  if (!Array.isArray(fields)) return undefined;
  const map: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) map[fields[i] as string] = fields[i + 1] as string;
  // Entries written before the feed had kinds were the archive's snapshots: a message's change.
  return { id, kind: map.e ?? 'changed', subject: map.r ?? '', data: map.s ?? '[]' };
}

/** Whether an entry is a message's record (the archive's snapshots) rather than an event with a type. */
export const isMessageChange = (kind: string): boolean => !kind.includes('.');

/**
 * Adds an event to a transaction when the feed has a reader (the stream exists: a consumer group made it),
 * then runs it: the change and its event are written together or not at all. Returns the replies.
 */
export async function execWithEvent(
  redis: Redis,
  keys: Keys,
  tx: ChainableCommander,
  type: string,
  subject: string,
  data: object,
): Promise<unknown[]> {
  if ((await redis.exists(keys.archive)) === 1)
    tx.xadd(keys.archive, '*', 'e', type, 'r', subject, 's', JSON.stringify(data));
  const replies = (await tx.exec()) ?? [];
  for (const [error] of replies) if (error) throw error;
  return replies.map(([, reply]) => reply);
}

/**
 * Makes a consumer group (and the stream) if there is none: entries after `from` (by default, from now on) are
 * its to read.
 */
export async function ensureGroup(redis: Redis, stream: string, group: string, from = '$'): Promise<void> {
  try {
    await redis.xgroup('CREATE', stream, group, from, 'MKSTREAM');
  } catch (error) {
    if (!/BUSYGROUP/.test((error as Error).message)) throw error;
  }
}

interface GroupInfo {
  name: string;
  pending: number;
  lastDelivered: string;
  lag: number | null;
}

function fieldsOf(row: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < row.length; i += 2) out[String(row[i])] = row[i + 1];
  return out;
}

export async function groupsOf(redis: Redis, stream: string): Promise<GroupInfo[]> {
  let rows: unknown[][];
  try {
    rows = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return [];
    throw error;
  }
  return rows.map((row) => {
    const f = fieldsOf(row);
    return {
      name: String(f.name),
      pending: Number(f.pending ?? 0),
      lastDelivered: String(f['last-delivered-id'] ?? '0-0'),
      lag: f.lag === null || f.lag === undefined ? null : Number(f.lag),
    };
  });
}

/** The entries a group has still to read and acknowledge (its lag, when Redis knows it, else the whole stream). */
export async function groupBacklog(redis: Redis, stream: string, group: string): Promise<number> {
  const info = (await groupsOf(redis, stream)).find((g) => g.name === group);
  if (!info) return redis.xlen(stream);
  return info.pending + (info.lag ?? (await redis.xlen(stream)));
}

const nextId = (id: string): string => {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
};

/** The id just before an entry's, so that a group made at it reads that entry first. */
export const previousId = (id: string): string => {
  const [ms, seq] = id.split('-').map(BigInt) as [bigint, bigint];
  return seq > 0n ? `${ms}-${seq - 1n}` : `${ms - 1n}-18446744073709551615`;
};

const compareIds = (a: string, b: string): number => {
  const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
};

/**
 * Drops what every group has read and acknowledged (XTRIM MINID to the oldest entry some group still needs),
 * then holds the stream to `maxEntries` (approximately: whole nodes go). Without any group nothing is read:
 * only the cap holds. Returns how many entries went, and, when the cap took entries some group had not
 * read, how many went that way and which groups lost some.
 */
export async function trimFeed(
  redis: Redis,
  stream: string,
  maxEntries: number,
): Promise<{ trimmed: number; capped: number; lostBy: string[] }> {
  const groups = await groupsOf(redis, stream);
  const needed = new Map<string, string>();
  for (const group of groups) {
    let id = nextId(group.lastDelivered);
    if (group.pending > 0) {
      const oldest = (await redis.xpending(stream, group.name, '-', '+', 1)) as Array<[string, ...unknown[]]>;
      if (oldest[0]) id = oldest[0][0];
    }
    needed.set(group.name, id);
  }
  let trimmed = 0;
  const floor = [...needed.values()].sort(compareIds)[0];
  if (floor !== undefined) trimmed += Number(await redis.xtrim(stream, 'MINID', floor));
  let capped = 0;
  const lostBy: string[] = [];
  if ((await redis.xlen(stream)) > maxEntries) {
    capped = Number(await redis.xtrim(stream, 'MAXLEN', '~', maxEntries));
    trimmed += capped;
    const first = ((await redis.xrange(stream, '-', '+', 'COUNT', 1)) as RawEntry[])[0]?.[0];
    for (const [group, id] of needed)
      if (capped > 0 && (first === undefined || compareIds(id, first) < 0)) lostBy.push(group);
    // Without any group, what the cap took nobody had read.
    if (capped > 0 && needed.size === 0) lostBy.push('(no reader yet)');
  }
  return { trimmed, capped, lostBy };
}

/** trimFeed, with a warning when the cap took entries some reader had not read. */
export async function trimFeedAndSay(redis: Redis, stream: string, maxEntries: number, log: Logger): Promise<void> {
  if ((await redis.exists(stream)) === 0) return;
  const { capped, lostBy } = await trimFeed(redis, stream, maxEntries);
  if (lostBy.length > 0)
    log.warn(
      { entries: capped, groups: lostBy, cap: maxEntries },
      'change feed: FEED_MAX_ENTRIES reached; its oldest entries went before every reader had read them',
    );
}

/**
 * Trims the feed every `everyMs` in a process that writes it fast (a send worker), so that it stays within
 * its cap even while no reader runs. Errors (Redis away) wait for the next round.
 */
export function startFeedTrimmer(
  redis: Redis,
  stream: string,
  maxEntries: number,
  log: Logger,
  everyMs = 2000,
): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    trimFeedAndSay(redis, stream, maxEntries, log)
      .catch(() => {})
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
