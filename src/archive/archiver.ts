import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { ArchiveStore, Snapshot } from './store.js';
import { entryOf, isMessageChange } from '../events/feed.js';

/**
 * Drains the change feed ({prefix}:archive, written by the ledger's scripts) into PostgreSQL, in batches, at
 * least once: entries are read through a consumer group, written with idempotent upserts, and only then
 * acknowledged (and trimmed once every group has read them, or deleted when the stream is this group's alone). A process that dies mid-batch leaves its entries pending in the
 * group; any archiver claims them after CLAIM_IDLE_MS and writes them again, which changes nothing that
 * was already written. While PostgreSQL is away the entries wait in Redis (sending goes on); the archiver
 * logs one line, backs off, and logs one line when it is back.
 */

const GROUP = 'archivers';
const CLAIM_IDLE_MS = 30_000;

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

export interface ArchiverOptions {
  batch?: number;
  /** How long one read waits for new entries. */
  blockMs?: number;
  /**
   * After a batch smaller than `batch`, how long to let new entries gather before the next read: fewer,
   * larger writes (each costs a round trip and a statement), for at most this much more lag.
   */
  lingerMs?: number;
  /** The longest pause between attempts while PostgreSQL or Redis is away. */
  maxBackoffMs?: number;
  claimIdleMs?: number;
  /** The consumer group (one per stream drained); `archivers` by default. */
  group?: string;
  /**
   * What is done with a batch; by default the ledger's snapshots are written to the store. Another stream
   * (the audit log's) brings its own.
   */
  sink?: (entries: Array<[string, string[]]>) => Promise<void>;
  /** Leave written entries in the stream (which trims itself, or `trim` trims), instead of deleting them. */
  keep?: boolean;
  /**
   * Trims the stream after each batch written, and while PostgreSQL is away: the change feed, which other
   * groups read too, drops only what every group has read (src/events/feed.ts).
   */
  trim?: () => Promise<unknown>;
  /** What its log lines start with: `archive` (the ledger's changes) by default. */
  label?: string;
}

/** An entry of the change feed that is a message's record (see src/scripts/includes/feed.lua). */
function snapshotOf(fields: string[]): Snapshot {
  const entry: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i] as string] = fields[i + 1] as string;
  const pairs = JSON.parse(entry.s ?? '[]') as string[];
  const snapshot: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) snapshot[pairs[i] as string] = pairs[i + 1] as string;
  snapshot.request_id = entry.r ?? '';
  return snapshot as Snapshot;
}

/**
 * The `message.replied` events among entries, as the first reply to each message (request_id → epoch ms).
 * Written after the batch's snapshots, so a reply to a message first archived in the same batch lands too.
 */
function repliesOf(entries: Array<[string, string[]]>): Array<{ requestId: string; at: number }> {
  const first = new Map<string, number>();
  for (const raw of entries) {
    const entry = entryOf(raw);
    if (entry?.kind !== 'message.replied' || entry.subject === '') continue;
    let at = Number.NaN;
    try {
      at = Date.parse((JSON.parse(entry.data) as { reply?: { at?: string } }).reply?.at ?? '');
    } catch {
      // Not one the inbound side wrote: nothing to keep.
    }
    if (Number.isFinite(at) && at < (first.get(entry.subject) ?? Infinity)) first.set(entry.subject, at);
  }
  return [...first].map(([requestId, at]) => ({ requestId, at }));
}

export class Archiver {
  private readonly consumer = `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly batch: number;
  private readonly blockMs: number;
  private readonly maxBackoffMs: number;
  private readonly claimIdleMs: number;
  private readonly lingerMs: number;
  private readonly group: string;
  private readonly sink: (entries: Array<[string, string[]]>) => Promise<void>;
  private readonly keep: boolean;
  private readonly label: string;
  private readonly trim: (() => Promise<unknown>) | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private migrated = false;
  private down: string | undefined;
  private lastClaim = 0;
  private backoff = 250;
  private wake: () => void = () => {};

  /** `reader` is a connection of its own: a blocking read holds it. */
  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly stream: string,
    private readonly store: ArchiveStore,
    private readonly log: Logger,
    options: ArchiverOptions = {},
  ) {
    this.batch = options.batch ?? 500;
    this.blockMs = options.blockMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.claimIdleMs = options.claimIdleMs ?? CLAIM_IDLE_MS;
    this.lingerMs = options.lingerMs ?? 100;
    this.group = options.group ?? GROUP;
    this.keep = options.keep ?? false;
    this.label = options.label ?? 'archive';
    this.trim = options.trim;
    this.sink =
      options.sink ??
      (async (entries) => {
        // A message's changes and its replies are the archive's; the feed's other events (a campaign's, the
        // fleet's) are not.
        const changes = entries.filter(([id, fields]) => {
          const entry = entryOf([id, fields]);
          return entry !== undefined && isMessageChange(entry.kind);
        });
        if (changes.length > 0)
          await this.store.write(changes.map(([id, fields]) => ({ id, snapshot: snapshotOf(fields) })));
        await this.store.noteReplies(repliesOf(entries));
      });
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** After a read and a write that worked: one line if they had not been working. */
  private healthy(): void {
    if (this.down) this.log.info({ was: this.down }, `${this.label}: PostgreSQL reachable again, catching up`);
    this.down = undefined;
    this.backoff = 250;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.migrated) {
          const applied = await this.store.migrate();
          if (applied.length > 0) this.log.info({ migrations: applied }, `${this.label}: PostgreSQL schema migrated`);
          this.migrated = true;
        }
        await this.ensureGroup();
        await this.drain();
      } catch (error) {
        if (this.stopped) break;
        const reason = (error as Error).message;
        if (!this.down)
          this.log.warn(
            { error: reason, retry_ms: this.backoff },
            `${this.label}: cannot archive to PostgreSQL now; the changes wait in Redis and it retries`,
          );
        this.down = reason;
        await this.trim?.().catch(() => {});
        await this.pause(this.backoff);
        this.backoff = Math.min(this.backoff * 2, this.maxBackoffMs);
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test((error as Error).message)) throw error;
    }
  }

  /** Writes batches until stopped: this consumer's own pending entries first, then claimed and new ones. */
  private async drain(): Promise<void> {
    let ownPending = true;
    while (!this.stopped) {
      let entries: Array<[string, string[]]>;
      if (ownPending) {
        entries = await this.read('0', false);
        if (entries.length === 0) ownPending = false;
      } else if (Date.now() - this.lastClaim > this.claimIdleMs / 2) {
        this.lastClaim = Date.now();
        const claimed = (await this.redis.xautoclaim(
          this.stream,
          this.group,
          this.consumer,
          this.claimIdleMs,
          '0',
          'COUNT',
          this.batch,
        )) as [string, Array<[string, string[] | null]>];
        entries = claimed[1].filter((e): e is [string, string[]] => Array.isArray(e[1]));
        if (entries.length === 0) continue;
      } else {
        entries = await this.read('>', true);
      }
      if (entries.length === 0) continue;
      await this.write(entries);
      if (!ownPending && entries.length < this.batch && this.lingerMs > 0) await this.pause(this.lingerMs);
    }
  }

  private async read(from: '0' | '>', block: boolean): Promise<Array<[string, string[]]>> {
    const args: Array<string | number> = ['GROUP', this.group, this.consumer, 'COUNT', this.batch];
    if (block) args.push('BLOCK', this.blockMs);
    const reply =
      (await (this.reader.xreadgroup as (...a: Array<string | number>) => Promise<StreamReply>)(
        ...args,
        'STREAMS',
        this.stream,
        from,
      )) ?? [];
    // Entries deleted while pending come back without fields: acknowledge them, nothing to write.
    return (reply[0]?.[1] ?? []).filter((e) => Array.isArray(e[1]));
  }

  private async write(entries: Array<[string, string[]]>): Promise<void> {
    await this.sink(entries);
    const ids = entries.map(([id]) => id);
    const done = this.redis.multi().xack(this.stream, this.group, ...ids);
    if (!this.keep) done.xdel(this.stream, ...ids);
    await done.exec();
    await this.trim?.();
    this.healthy();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Stops after the batch in hand (its entries stay pending for the next start if it cannot finish). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    this.reader.disconnect();
    await this.loop?.catch(() => {});
  }
}
