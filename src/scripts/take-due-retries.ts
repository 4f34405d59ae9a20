import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface TakeDueRetries {
  /** The endpoint's retries. */
  keys: { retries: string };
  /** Epoch ms. */
  now: number;
  leaseMs: number;
  count: number;
}

const call = script<string[]>('take-due-retries');

/** The deliveries due now, leased to the caller (take-due-retries.lua). */
export function takeDueRetries(client: Redis, input: TakeDueRetries): Promise<string[]> {
  return call(client, [input.keys.retries], [input.now, input.leaseMs, input.count]);
}
