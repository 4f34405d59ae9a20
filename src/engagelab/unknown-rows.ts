import type { Redis } from 'ioredis';
import type { UnknownRow } from './callback-rows.js';

/**
 * Callback rows of a shape wa-bulk does not understand, kept for an operator to look at (`wa-bulk callbacks
 * unknown`, `GET /api/callbacks/unknown`): the newest UNKNOWN_ROWS_KEPT, each cut to a few KB, in one list
 * ({prefix}:callbacks-unknown) that expires UNKNOWN_ROWS_TTL_S after the last one arrived. Bounded, so that
 * a flood of junk costs at most a few MB. The one writer of that list.
 */

export const UNKNOWN_ROWS_KEPT = 1000;
export const UNKNOWN_ROWS_TTL_S = 7 * 86_400;

export class UnknownRows {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  async keep(rows: readonly UnknownRow[]): Promise<void> {
    if (rows.length === 0) return;
    const texts = rows.slice(-UNKNOWN_ROWS_KEPT).map((row) => JSON.stringify(row));
    await this.redis
      .multi()
      .lpush(this.key, ...texts)
      .ltrim(this.key, 0, UNKNOWN_ROWS_KEPT - 1)
      .expire(this.key, UNKNOWN_ROWS_TTL_S)
      .exec();
  }

  /** The newest `limit` rows kept, newest first, and how many are kept in all. */
  async list(limit: number): Promise<{ kept: number; rows: UnknownRow[] }> {
    const [kept, texts] = await Promise.all([
      this.redis.llen(this.key),
      this.redis.lrange(this.key, 0, Math.max(0, limit - 1)),
    ]);
    const rows: UnknownRow[] = [];
    for (const text of texts) {
      const row = parse(text);
      if (row) rows.push(row);
    }
    return { kept, rows };
  }
}

/** A kept entry, or undefined for one that is not what keep() writes. */
function parse(text: string): UnknownRow | undefined {
  try {
    const value = JSON.parse(text) as Partial<UnknownRow>;
    // A time Date cannot hold (|ms| > 8.64e15) would break the readers that print it.
    const at = value.received_at;
    if (typeof at !== 'number' || !(Math.abs(at) <= 8.64e15) || typeof value.row !== 'string') return undefined;
    return {
      received_at: at,
      error: String(value.error ?? ''),
      row: value.row,
      truncated: value.truncated === true,
    };
  } catch {
    return undefined;
  }
}
