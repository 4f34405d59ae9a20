import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { normalisePhone } from '../messages/phone.js';
import type { Keys } from '../redis/keys.js';

/**
 * Opt-outs: numbers that get no message, as one Redis set of normalised numbers ({prefix}:suppressed).
 * The enqueue script leaves their messages out (counted as `suppressed`), and the grant script skips a
 * waiting message whose recipient opted out since (`skipped`, reason `suppressed`, no request).
 * Numbers are compared in the ledger's spelling (digits, country code first), so "+44 7911 123456" and
 * "00447911123456" are one number.
 */
export interface SuppressionReport {
  added: number;
  invalid: Array<{ line: number; error: string }>;
}

const BATCH = 1000;

export class Suppressions {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /** Normalised numbers, or the first that is not one. */
  static normalise(numbers: readonly string[]): { numbers: string[]; invalid?: string } {
    const out: string[] = [];
    for (const raw of numbers) {
      const number = normalisePhone(String(raw));
      if (number === undefined) return { numbers: out, invalid: String(raw) };
      out.push(number);
    }
    return { numbers: out };
  }

  async add(numbers: readonly string[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < numbers.length; i += BATCH)
      added += await this.redis.sadd(this.keys.suppressed, ...numbers.slice(i, i + BATCH));
    return added;
  }

  async remove(numbers: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < numbers.length; i += BATCH)
      removed += await this.redis.srem(this.keys.suppressed, ...numbers.slice(i, i + BATCH));
    return removed;
  }

  async has(number: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.suppressed, number)) === 1;
  }

  count(): Promise<number> {
    return this.redis.scard(this.keys.suppressed);
  }

  /** One number a line, streamed in batches: memory stays flat for a million. Blank lines and # comments are skipped. */
  async import(input: Readable): Promise<SuppressionReport> {
    const report: SuppressionReport = { added: 0, invalid: [] };
    let batch: string[] = [];
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      const value = text.trim();
      if (value === '' || value.startsWith('#')) continue;
      const number = normalisePhone(value);
      if (number === undefined) {
        if (report.invalid.length < 1000)
          report.invalid.push({ line, error: `"${value.slice(0, 40)}" is not an international phone number` });
        continue;
      }
      batch.push(number);
      if (batch.length >= BATCH) {
        report.added += await this.add(batch);
        batch = [];
      }
    }
    if (batch.length > 0) report.added += await this.add(batch);
    return report;
  }

  /** Every suppressed number, in pages (SSCAN: no order, each once). */
  async *list(): AsyncGenerator<string[]> {
    let cursor = '0';
    do {
      const [next, numbers] = await this.redis.sscan(this.keys.suppressed, cursor, 'COUNT', 1000);
      cursor = next;
      if (numbers.length > 0) yield numbers;
    } while (cursor !== '0');
  }
}
