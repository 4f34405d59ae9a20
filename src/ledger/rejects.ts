import type { Redis } from 'ioredis';
import type { Keys } from '../redis/keys.js';
import * as scripts from '../scripts/index.js';

/**
 * The lines refused at enqueue, per campaign: counted (the campaign's `rejected`, over every enqueue of it:
 * command line, HTTP API, library) and the first REJECTS_KEPT kept, so that an operator can read them after
 * the enqueue that refused them (`export --rejected`, GET /api/campaigns/:id/rejects). Written by the
 * producer (producers/enqueue.ts) through the record-rejects script; a dry run writes nothing.
 *
 *   {prefix}:campaign:{id}            its `rejected` field
 *   {prefix}:campaign:{id}:rejects    list of RejectedLine as JSON, in the order they were refused
 */

/** How many rejected lines a campaign keeps (the first ones; all are counted). */
export const REJECTS_KEPT = 1000;
/** A kept line's error is cut to this many characters. */
const ERROR_CHARS = 500;

/** A line refused at enqueue: its number in its input (from 1), why, and when that enqueue started. */
export interface RejectedLine {
  line: number;
  error: string;
  enqueued_at: string;
}

export class RejectedLines {
  constructor(
    private readonly client: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Counts `count` more rejected lines of the campaign and keeps as many of `lines` as there is room for.
   * Returns how many lines the campaign keeps now (REJECTS_KEPT: no more are kept).
   */
  async record(campaign: string, lines: readonly RejectedLine[], count: number, ttlSeconds: number): Promise<number> {
    if (count === 0) return 0;
    const { kept } = await scripts.recordRejects(this.client, {
      keys: { campaign: this.keys.campaign(campaign), rejects: this.keys.campaignRejects(campaign) },
      ttlSeconds,
      keep: REJECTS_KEPT,
      count,
      lines: lines.map((l) => ({ line: l.line, error: l.error.slice(0, ERROR_CHARS), enqueued_at: l.enqueued_at })),
    });
    return kept;
  }

  /** The campaign's kept rejected lines, oldest first (empty when none, or once they have expired). */
  async list(campaign: string): Promise<RejectedLine[]> {
    const entries = await this.client.lrange(this.keys.campaignRejects(campaign), 0, REJECTS_KEPT - 1);
    return entries.map((entry) => JSON.parse(entry) as RejectedLine);
  }
}
