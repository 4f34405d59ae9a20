import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { commandName, scriptSource } from '../src/scripts/loader.js';
import type { BenchContext } from './harness.js';

/**
 * Where Redis's main-thread time goes, per command and per Lua script. `INFO commandstats` counts every
 * script call as one `evalsha`; Redis's slow log, set to keep every command, has each call's own duration and
 * its arguments (the script's SHA1 for an `evalsha`), which `scriptNames` turns back into the script's name.
 * The log is drained as it fills (a MULTI of GET and RESET, so nothing falls between the two). A script's
 * entry includes the time of the commands it calls. Keeping
 * every command costs Redis time of its own, so the figures of a run with a `SlowLogTap` open are shares, not
 * a rate to compare.
 */

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** Every script wa-bulk and BullMQ register with ioredis (`defineCommand`, which calls EVALSHA), by SHA1. */
export function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  // BullMQ's ESM build imports its script modules without extensions, which Node's loader refuses: the
  // CommonJS build has the same scripts.
  const bullmqScripts = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/index.js') as object;
  for (const script of Object.values(bullmqScripts) as { name?: string; content?: string }[])
    if (script.name && script.content) names.set(sha1(script.content), `bullmq:${script.name}`);
  const folder = fileURLToPath(new URL('../src/scripts/', import.meta.url));
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.lua')))
    names.set(sha1(scriptSource(file)), commandName(file.slice(0, -'.lua'.length)));
  return names;
}

/** Commands of the tap itself and of the bench's own readings, not the measured worker's. */
const OURS = new Set(['slowlog', 'multi', 'exec', 'config', 'info', 'flushall']);

type SlowLogEntry = [id: number, at: number, micros: number, args: string[], from: string, name: string];

/** One command or script's share of a run: calls and Redis microseconds in all. */
export interface TapEntry {
  calls: number;
  usec: number;
}

export interface SlowLogTap {
  /** Stops draining and puts the slow log back as it was; resolves with the time by command or script. */
  stop(): Promise<Map<string, TapEntry>>;
}

/** Starts keeping every command in the slow log and draining it every `everyMs`. */
export async function tapSlowLog(bench: BenchContext, everyMs = 50): Promise<SlowLogTap> {
  const names = scriptNames();
  const client = new Redis(bench.redisUrl);
  const [, threshold] = (await client.config('GET', 'slowlog-log-slower-than')) as [string, string];
  const [, length] = (await client.config('GET', 'slowlog-max-len')) as [string, string];
  await client.config('SET', 'slowlog-max-len', '500000');
  await client.slowlog('RESET');
  await client.config('SET', 'slowlog-log-slower-than', '0');
  const totals = new Map<string, TapEntry>();
  const add = (name: string, micros: number) => {
    const total = totals.get(name) ?? { calls: 0, usec: 0 };
    total.calls++;
    total.usec += micros;
    totals.set(name, total);
  };
  // Redis 7.0 also logs the commands a script calls, from a client of its own ("?:0"), just before the
  // script's own entry (a script runs alone): those are kept as "<script> > <command>", inside the script's
  // time, not beside it.
  let inside: [command: string, micros: number][] = [];
  const drain = async () => {
    const replies = (await client.multi().slowlog('GET', -1).slowlog('RESET').exec()) ?? [];
    const entries = ((replies[0]?.[1] ?? []) as SlowLogEntry[]).sort((a, b) => a[0] - b[0]);
    for (const [, , micros, args, from] of entries) {
      const command = String(args[0] ?? '').toLowerCase();
      if (from === '?:0') {
        inside.push([command, micros]);
        continue;
      }
      if (OURS.has(command)) continue;
      const name = command.startsWith('eval')
        ? command === 'evalsha'
          ? (names.get(String(args[1])) ?? `evalsha:${String(args[1]).slice(0, 8)}`)
          : 'eval'
        : command;
      add(name, micros);
      for (const [inner, innerMicros] of inside) add(`${name} > ${inner}`, innerMicros);
      inside = [];
    }
  };
  let running = true;
  const loop = (async () => {
    while (running) {
      await drain();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.config('SET', 'slowlog-log-slower-than', threshold);
      await drain();
      await client.config('SET', 'slowlog-max-len', length);
      client.disconnect();
      return totals;
    },
  };
}

/**
 * The `top` commands or scripts by Redis time per message of `messages`, and their share of all the time at the
 * top level; `within`: the commands that script calls.
 */
export function topPerMessage(totals: Map<string, TapEntry>, messages: number, top = 10, within?: string) {
  const all = [...totals].reduce((n, [name, t]) => (name.includes(' > ') ? n : n + t.usec), 0);
  return [...totals]
    .filter(([name]) => (within ? name.startsWith(`${within} > `) : !name.includes(' > ')))
    .map(([name, { calls, usec }]) => ({
      name: within ? name.slice(within.length + 3) : name,
      share: Number((usec / Math.max(1, all)).toFixed(3)),
      us_per_message: Number((usec / messages).toFixed(1)),
      calls_per_message: Number((calls / messages).toFixed(3)),
      us_per_call: Number((usec / Math.max(1, calls)).toFixed(1)),
    }))
    .sort((a, b) => b.us_per_message - a.us_per_message)
    .slice(0, top);
}
