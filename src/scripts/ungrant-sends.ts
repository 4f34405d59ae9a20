import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** A grant handed back: its message record and pair key. */
export interface UngrantSend {
  messageKey: string;
  pairKey: string;
}

const call = script<number>('ungrant-sends');

/**
 * Grants that reached their process too late to be used (ungrant-sends.lua): their messages are no longer in
 * flight, their attempts not spent, their pair keys gone. Returns how many.
 */
export function ungrantSends(client: Redis, input: { grants: readonly UngrantSend[] }): Promise<number> {
  const keys: string[] = [];
  for (const g of input.grants) keys.push(g.messageKey, g.pairKey);
  return call(client, keys, []);
}
