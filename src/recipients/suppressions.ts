import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { isBsuid, parseUser, userProblem } from '../messages/identity.js';
import type { Keys } from '../redis/keys.js';
import { UserLinks } from './links.js';
import { execWithEvent } from '../events/feed.js';

/**
 * Opt-outs: numbers that get no message, as one Redis set of normalised numbers ({prefix}:suppressed).
 * The enqueue script leaves their messages out (counted as `suppressed`), and the grant script skips a
 * waiting message whose recipient opted out since (`skipped`, reason `suppressed`, no request).
 * Numbers are compared in the ledger's spelling (digits, country code first), so "+44 7911 123456" and
 * "00447911123456" are one number.
 *
 * The set also holds business-scoped user ids (messages/identity.ts), as they came: a user who opted out by
 * id is suppressed under it, and under their number as soon as the two are linked (links.ts), at once when
 * the link is known, else when it is learned. Only an id's opt-out reaches the number, never the reverse,
 * and removing either removes its linked one too, so that a later link cannot bring back an opt-out an
 * operator removed.
 */
export interface SuppressionReport {
  added: number;
  invalid: Array<{ line: number; error: string }>;
}

const BATCH = 1000;

/** contact.opted_out's data (src/events/schema.ts). */
export interface OptOut {
  number: string | null;
  user_id: string | null;
  source: 'keyword' | 'operator';
  keyword: string | null;
  by: string;
}

export class Suppressions {
  private readonly links: UserLinks;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.links = new UserLinks(redis, keys);
  }

  /**
   * Normalised numbers and ids, or the first value that is neither, with what is wrong with it
   * (messages/identity.ts).
   */
  static normalise(numbers: readonly string[]): { numbers: string[]; invalid?: string; problem?: string } {
    const out: string[] = [];
    for (const raw of numbers) {
      const user = parseUser(String(raw));
      if (user === undefined) return { numbers: out, invalid: String(raw), problem: userProblem(String(raw)) };
      out.push(user.id);
    }
    return { numbers: out };
  }

  /**
   * Suppresses numbers and ids, and the number each id is linked to. Returns how many were not yet suppressed.
   * With `by` (an operator's `suppress add` or POST /api/suppressions, not an import), each one given is
   * also a contact.opted_out in the change feed, in the transaction that suppresses it.
   */
  async add(numbers: readonly string[], by?: string): Promise<number> {
    let added = 0;
    for (let i = 0; i < numbers.length; i += BATCH) {
      const batch = numbers.slice(i, i + BATCH);
      if (by === undefined) added += await this.redis.sadd(this.keys.suppressed, ...batch);
      else added += await this.addWithEvents(batch, by);
      // After the ids are in the set: a link learned meanwhile finds them there (link-users.lua).
      const linked = await this.links.others(batch.filter(isBsuid));
      if (linked.length > 0) added += await this.redis.sadd(this.keys.suppressed, ...linked);
    }
    return added;
  }

  private async addWithEvents(batch: readonly string[], by: string): Promise<number> {
    const tx = this.redis.multi().sadd(this.keys.suppressed, ...batch);
    if ((await this.redis.exists(this.keys.archive)) === 1)
      for (const user of batch) {
        const event: OptOut = {
          number: isBsuid(user) ? null : user,
          user_id: isBsuid(user) ? user : null,
          source: 'operator',
          keyword: null,
          by,
        };
        tx.xadd(this.keys.archive, '*', 'e', 'contact.opted_out', 'r', user, 's', JSON.stringify(event));
      }
    const replies = (await tx.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    return Number(replies[0]?.[1] ?? 0);
  }

  /**
   * A recipient's own opt-out (an OPT_OUT_KEYWORDS reply): their number and id suppressed with
   * contact.opted_out in the change feed, in one transaction; then the identities linked to them.
   */
  async optOut(ids: readonly string[], event: OptOut): Promise<number> {
    const tx = this.redis.multi().sadd(this.keys.suppressed, ...ids);
    const subject = event.number ?? event.user_id ?? '';
    const [added] = (await execWithEvent(this.redis, this.keys, tx, 'contact.opted_out', subject, event)) as [number];
    const linked = await this.links.others(ids.filter(isBsuid));
    return added + (linked.length > 0 ? await this.redis.sadd(this.keys.suppressed, ...linked) : 0);
  }

  /** Stops suppressing numbers and ids, and each one's linked id or number. Returns how many were suppressed. */
  async remove(numbers: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < numbers.length; i += BATCH) {
      const batch = numbers.slice(i, i + BATCH);
      removed += await this.redis.srem(this.keys.suppressed, ...batch, ...(await this.links.others(batch)));
    }
    return removed;
  }

  async has(number: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.suppressed, number)) === 1;
  }

  count(): Promise<number> {
    return this.redis.scard(this.keys.suppressed);
  }

  /**
   * One number or id a line, streamed in batches: memory stays flat for a million. Blank lines and # comments
   * are skipped.
   */
  async import(input: Readable): Promise<SuppressionReport> {
    const report: SuppressionReport = { added: 0, invalid: [] };
    let batch: string[] = [];
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      const value = text.trim();
      if (value === '' || value.startsWith('#')) continue;
      const user = parseUser(value);
      if (user === undefined) {
        if (report.invalid.length < 1000) report.invalid.push({ line, error: userProblem(value) });
        continue;
      }
      batch.push(user.id);
      if (batch.length >= BATCH) {
        report.added += await this.add(batch);
        batch = [];
      }
    }
    if (batch.length > 0) report.added += await this.add(batch);
    return report;
  }

  /** Every suppressed number and id, in pages (SSCAN: no order, each once). */
  async *list(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, numbers] = await this.redis.sscan(this.keys.suppressed, cursor, 'COUNT', 1000);
      cursor = next;
      if (numbers.length > 0) yield numbers;
    } while (cursor !== '0');
  }
}
