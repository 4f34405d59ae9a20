import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/**
 * wa-bulk's Redis scripts: one `.lua` file per command in this folder, each with a header giving its KEYS,
 * ARGV and reply; fragments several scripts share (the message record, BullMQ's job layout) live in
 * `includes/` and are pulled in with a line `--- @include "includes/<name>"` (each once per script).
 * Every key a script touches comes in KEYS (Redis Cluster requires it).
 *
 * `scripts(client)` registers all of them on an ioredis client, once, as commands named `wa` + the file's
 * name in PascalCase (enqueue-messages.lua → waEnqueueMessages). Every command takes the number of keys
 * first: `client.waReviveMessage(2, key1, key2, ...argv)`. The build copies the folder into dist/.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const INCLUDE = /^--- @include "([\w/-]+)"\s*$/gm;

/** The script's text with its includes expanded (each fragment once). */
export function scriptSource(file: string, seen = new Set<string>()): string {
  const text = readFileSync(join(HERE, file), 'utf8');
  return text.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return scriptSource(`${name}.lua`, seen);
  });
}

const commandName = (file: string) =>
  `wa${file.replace(/\.lua$/, '').replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase())}`;

/** Every script's source, read once. */
const SOURCES: ReadonlyMap<string, string> = new Map(
  readdirSync(HERE)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => [commandName(file), scriptSource(file)]),
);

type Arg = string | number;
type Command<R> = (numberOfKeys: number, ...keysAndArgs: Arg[]) => Promise<R>;

/** The commands and the shape of their replies (see each script's header). */
export interface WaCommands {
  waEnqueueMessages: Command<EnqueueVerdict[]>;
  waSettleMessages: Command<SettleVerdict[]>;
  waReviveMessage: Command<0 | 1>;
  waApplyDelivery: Command<[DeliveryVerdict, string]>;
  waGrantSends: Command<GrantReply>;
  waUngrantSends: Command<number>;
  waReportOutcome: Command<number>;
  waMoveFunnel: Command<0 | 1>;
}

/** enqueue-messages.lua, per message. */
export const EnqueueVerdict = {
  New: 0,
  Duplicate: 1,
  /** In the ledger as pending but its job is gone (e.g. Redis restored from an older snapshot): enqueued again. */
  Requeued: 2,
  /** To a suppressed number (an opt-out): neither recorded nor enqueued. */
  Suppressed: 3,
} as const;
export type EnqueueVerdict = (typeof EnqueueVerdict)[keyof typeof EnqueueVerdict];

/** settle-messages.lua, per message. */
export const SettleVerdict = { Unchanged: 0, Changed: 1, OrphansWaiting: 2 } as const;
export type SettleVerdict = (typeof SettleVerdict)[keyof typeof SettleVerdict];

/** apply-delivery.lua. */
export const DeliveryVerdict = { NoMessage: -1, NotFurther: 0, Applied: 1 } as const;
export type DeliveryVerdict = (typeof DeliveryVerdict)[keyof typeof DeliveryVerdict];

/** grant-sends.lua: the answer's code. */
export const GrantCode = { Answered: 0, Held: 1, Paused: 2 } as const;
export type GrantCode = (typeof GrantCode)[keyof typeof GrantCode];

/** grant-sends.lua: each request's verdict. */
export const GrantVerdict = {
  Granted: 'g',
  Wait: 'w',
  Sent: 'sent',
  Dead: 'dead',
  InFlight: 'inflight',
  CampaignPaused: 'paused',
  CampaignCancelled: 'cancelled',
  NoSession: 'nosession',
  Expired: 'expired',
  Suppressed: 'suppressed',
} as const;
/** Also `pair:<ms>` and `limit:<ms>`: wait so long. */
export type GrantVerdict = (typeof GrantVerdict)[keyof typeof GrantVerdict] | `pair:${number}` | `limit:${number}`;

/** {code, wait ms, probe, breaker failures, Redis's now (ms), verdicts...} */
export type GrantReply = [GrantCode, string | number, 0 | 1, number, string, ...GrantVerdict[]];

const registered = new WeakSet<Redis>();

/** The client with wa-bulk's commands registered on it (once per client). */
export function scripts(client: Redis): Redis & WaCommands {
  if (!registered.has(client)) {
    for (const [name, lua] of SOURCES) client.defineCommand(name, { lua });
    registered.add(client);
  }
  return client as Redis & WaCommands;
}
