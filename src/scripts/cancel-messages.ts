import type { Redis } from 'ioredis';
import { script, type Arg } from './loader.js';

export interface CancelMessages {
  /** The archive stream and the campaign's counters. */
  keys: { archive: string; campaign: string };
  /** Where the request_id starts in a record's key, for the change feed: > 0 always, < 0 while it has a reader, 0 never. */
  idFrom: number;
  /** Epoch ms. */
  now: number;
  /** How long the skipped record stays. */
  ttlSeconds: number;
  reason: string;
  error: string;
  /**
   * Each message's request_id and record, its recipient's marketing window (a FREQUENCY_CAP place it holds
   * is given back when it is skipped), and whether its job was removed from its queue.
   */
  messages: ReadonlyArray<{ requestId: string; messageKey: string; sent: string; removed: boolean }>;
}

const call = script<Array<0 | 1>>('cancel-messages');

/**
 * Skips a cancelled campaign's pending messages that no request is on the wire for (cancel-messages.lua):
 * per message, true when it was skipped now.
 */
export async function cancelMessages(client: Redis, input: CancelMessages): Promise<boolean[]> {
  const keys = [input.keys.archive, input.keys.campaign];
  const argv: Arg[] = [input.idFrom, input.now, input.ttlSeconds, input.reason, input.error];
  for (const m of input.messages) {
    keys.push(m.messageKey, m.sent);
    argv.push(m.removed ? '1' : '0', m.requestId);
  }
  return (await call(client, keys, argv)).map((verdict) => verdict === 1);
}
