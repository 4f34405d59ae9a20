import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface MarkDone {
  /** The campaign's hash and the change feed. */
  keys: { campaign: string; archive: string };
  /** Epoch ms. */
  now: number;
  id: string;
  /** campaign.done's data; undefined: marked without an event. */
  data: object | undefined;
}

const call = script<0 | 1>('mark-done');

/** Marks a campaign reported and appends campaign.done (mark-done.lua): true the first time only. */
export async function markDone(client: Redis, input: MarkDone): Promise<boolean> {
  const k = input.keys;
  return (
    (await call(
      client,
      [k.campaign, k.archive],
      [input.now, input.id, input.data === undefined ? '' : JSON.stringify(input.data)],
    )) === 1
  );
}
