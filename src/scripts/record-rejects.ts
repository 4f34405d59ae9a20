import type { Redis } from 'ioredis';
import { script, type Arg } from './loader.js';

export interface RecordRejects {
  /** The campaign's counters and its list of kept rejected lines. */
  keys: { campaign: string; rejects: string };
  ttlSeconds: number;
  /** How many rejected lines a campaign keeps at most (the first ones). */
  keep: number;
  /** How many lines were rejected: `lines` may hold fewer (none once the campaign keeps `keep`). */
  count: number;
  /** The rejected lines to keep, each written as JSON. */
  lines: readonly object[];
}

const call = script<[number, number]>('record-rejects');

/** Counts rejected lines and keeps the first ones (record-rejects.lua): the campaign's count, and how many it keeps. */
export async function recordRejects(client: Redis, input: RecordRejects): Promise<{ rejected: number; kept: number }> {
  const argv: Arg[] = [input.ttlSeconds, input.keep, input.count];
  for (const line of input.lines) argv.push(JSON.stringify(line));
  const [rejected, kept] = await call(client, [input.keys.campaign, input.keys.rejects], argv);
  return { rejected, kept };
}
