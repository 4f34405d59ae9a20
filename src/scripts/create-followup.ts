import type { Redis } from 'ioredis';
import { script } from './loader.js';

/** create-followup.lua's reply: written, refused by a bound, or the index moved since it was read. */
export type CreateFollowupReply = 'created' | 'active' | 'kept' | 'changed';

export interface CreateFollowup {
  /** The index of rules, the new rule's hash, and the hash of each rule in the index as read (its order). */
  keys: { followups: string; followup: string; rules: readonly string[] };
  id: string;
  /** Epoch ms. */
  now: number;
  maxActive: number;
  maxKept: number;
  /** The new rule's fields (text values). */
  fields: Record<string, string>;
  /** The ids of the index as read, in its order (`keys.rules` are their hashes). */
  ruleIds: readonly string[];
}

const call = script<CreateFollowupReply>('create-followup');

/** Stores a new follow-up rule when the bounds allow (create-followup.lua). */
export function createFollowup(client: Redis, input: CreateFollowup): Promise<CreateFollowupReply> {
  const k = input.keys;
  return call(
    client,
    [k.followups, k.followup, ...k.rules],
    [input.id, input.now, input.maxActive, input.maxKept, JSON.stringify(input.fields), ...input.ruleIds],
  );
}
