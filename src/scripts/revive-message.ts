import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface ReviveMessage {
  /** The message record, its campaign's counters, the change feed. */
  keys: { message: string; campaign: string; archive: string };
  /** Epoch ms. */
  now: number;
  /** How long the pending record stays. */
  ttlSeconds: number;
  /** Where the request_id starts in the record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
}

const call = script<0 | 1>('revive-message');

/** dead → pending (revive-message.lua): false when the message was not dead. */
export async function reviveMessage(client: Redis, input: ReviveMessage): Promise<boolean> {
  const k = input.keys;
  return (await call(client, [k.message, k.campaign, k.archive], [input.now, input.ttlSeconds, input.idFrom])) === 1;
}
