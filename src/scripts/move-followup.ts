import type { Redis } from 'ioredis';
import { script } from './loader.js';

export interface MoveFollowup {
  /** The rule's hash, and (with `busy`) the lock of its job. */
  keys: { followup: string; lock?: string };
  /** The states it may move from. */
  from: readonly string[];
  to: string;
  /** Fields set with the move (text values). */
  fields: Record<string, string>;
  /** Expires after this many ms once moved; undefined: kept. */
  keepMs: number | undefined;
  /** A state in `from` the rule may leave only while `keys.lock` does not exist (no worker runs its job). */
  busy?: string;
}

const call = script<[0 | 1, string]>('move-followup');

/** Moves a follow-up rule's state (move-followup.lua): whether it moved, and the state it was in. */
export async function moveFollowup(
  client: Redis,
  input: MoveFollowup,
): Promise<{ moved: boolean; state: string | undefined }> {
  const busy = input.busy !== undefined && input.keys.lock !== undefined;
  const [moved, state] = await call(
    client,
    busy ? [input.keys.followup, input.keys.lock as string] : [input.keys.followup],
    [
      input.from.join(','),
      input.to,
      JSON.stringify(input.fields),
      input.keepMs === undefined ? '' : input.keepMs,
      ...(busy ? [input.busy as string] : []),
    ],
  );
  return { moved: moved === 1, state: state === '' ? undefined : state };
}
