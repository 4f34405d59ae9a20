import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/**
 * The loader of wa-bulk's Redis scripts: one `.lua` file per command in this folder; fragments several
 * scripts share (the message record, BullMQ's job layout) live in `includes/` and are pulled in with a line
 * `--- @include "includes/<name>"` (each once per script). Every key a script touches comes in KEYS (Redis
 * Cluster requires it). The build copies the folder into dist/.
 *
 * Each `<name>.lua` has a `<name>.ts` beside it, the one place in TypeScript that knows its KEYS and ARGV
 * order: a function taking the client and named fields, returning a named reply. The script's header names
 * the same fields, one a line, by position (`1 name  what it is`) and, for what repeats per item, by offset
 * within the item after a `then per <item>:` line (`+1 name  what it is`); test/unit/scripts.test.ts holds
 * each header to what its function passes.
 *
 * The commands are registered on a client once, as `wa` + the file's name in PascalCase (enqueue-messages.lua
 * → waEnqueueMessages), and called with the number of keys, the KEYS array and the ARGV array: ioredis
 * flattens arrays in a command's arguments, so nothing is spread per call.
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

/** enqueue-messages → waEnqueueMessages */
export const commandName = (script: string) =>
  `wa${script.replace(/(^|-)([a-z])/g, (_m, _dash, c: string) => c.toUpperCase())}`;

/** Every script's source, read once, by command name. */
const SOURCES: ReadonlyMap<string, string> = new Map(
  readdirSync(HERE)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => [commandName(file.slice(0, -'.lua'.length)), scriptSource(file)]),
);

export type Arg = string | number;

/** A script as its typed function calls it: the client, then KEYS and ARGV in the order of its header. */
export type ScriptCall<Reply> = (client: Redis, keys: readonly string[], argv: readonly Arg[]) => Promise<Reply>;

type Command = (numberOfKeys: number, keys: readonly string[], argv: readonly Arg[]) => Promise<unknown>;

const registered = new WeakSet<Redis>();

/** Registers every script on the client, once per client. */
function register(client: Redis): void {
  for (const [name, lua] of SOURCES) client.defineCommand(name, { lua });
  registered.add(client);
}

/**
 * The call of `<script>.lua` (its name without the extension), for its typed function. Fails at import when
 * there is no such file, so a typed function cannot name a script that is not there.
 */
export function script<Reply>(name: string): ScriptCall<Reply> {
  const command = commandName(name);
  if (!SOURCES.has(command)) throw new Error(`src/scripts/${name}.lua: no such script`);
  return (client, keys, argv) => {
    if (!registered.has(client)) register(client);
    const run = (client as unknown as Record<string, Command>)[command] as Command;
    return run.call(client, keys.length, keys, argv) as Promise<Reply>;
  };
}
