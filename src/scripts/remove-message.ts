import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** remove-message.lua's reply: removed, or what stopped it. */
export const RemoveVerdict = {
  Removed: 'removed',
  Missing: 'missing',
  Sent: 'sent',
  Dead: 'dead',
  Skipped: 'skipped',
  InFlight: 'inflight',
  Requested: 'requested',
} as const;
export type RemoveVerdict = (typeof RemoveVerdict)[keyof typeof RemoveVerdict];

export interface RemoveMessage {
  /**
   * The archive stream, the message's campaign's counters, its record, its recipient's marketing window (a
   * FREQUENCY_CAP place it holds is given back when it is skipped).
   */
  keys: { archive: string; campaign: string; message: string; sent: string };
  requestId: string;
  /** Where the request_id starts in the record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
  /** Epoch ms. */
  now: number;
  /** How long the skipped record stays. */
  ttlSeconds: number;
  reason: string;
  error: string;
  /** Its job was taken out of its queue (no worker holds it). */
  removed: boolean;
}

const call = script<RemoveVerdict>('remove-message');

/** Skips one pending message on an operator's word (remove-message.lua). */
export function removeMessage(client: Redis, input: RemoveMessage): Promise<RemoveVerdict> {
  const k = input.keys;
  return call(
    client,
    [k.archive, k.campaign, k.message, k.sent],
    [input.idFrom, input.now, input.ttlSeconds, input.reason, input.error, input.removed ? '1' : '0', input.requestId],
  );
}
