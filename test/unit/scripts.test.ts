import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import * as scripts from '../../src/scripts/index.js';
import { commandName, script } from '../../src/scripts/loader.js';

/**
 * Each Redis script's header names its KEYS and ARGV; the typed function beside it (src/scripts/<name>.ts) is
 * the one place in TypeScript that passes them. These tests call each function with a client that records
 * the command, every key given as its own field name, and hold what it passed to the header.
 */

const DIR = new URL('../../src/scripts/', import.meta.url);
const NAMES = readdirSync(DIR)
  .filter((file) => file.endsWith('.lua'))
  .map((file) => file.slice(0, -'.lua'.length))
  .sort();

interface Layout {
  /** The names of the entries by position (1, 2, …). */
  fixed: string[];
  /** Then, per item, the names of its entries by offset (+1, +2, …). */
  perItem: string[];
}

/** A script's header: its KEYS and ARGV entries, `<position> <name>` or, after `then per <item>:`, `+<offset> <name>`. */
function headerOf(name: string): { KEYS: Layout; ARGV: Layout } {
  const lua = readFileSync(new URL(`${name}.lua`, DIR), 'utf8');
  const header = /^--\[\[\n([\s\S]*?)\n\]\]/.exec(lua)?.[1];
  if (!header) throw new Error(`${name}.lua: no --[[ header ]]`);
  const layout = { KEYS: { fixed: [], perItem: [] }, ARGV: { fixed: [], perItem: [] } } as Record<
    'KEYS' | 'ARGV',
    Layout
  >;
  let section: Layout | undefined;
  let list: string[] = [];
  for (let line of header.split('\n')) {
    const start = /^ {2}(KEYS|ARGV|Reply)\b/.exec(line);
    if (start) {
      section = start[1] === 'Reply' ? undefined : layout[start[1] as 'KEYS' | 'ARGV'];
      list = section?.fixed ?? [];
      line = line.slice(start[0].length);
    }
    if (!section) continue;
    if (/^\s*then per \w+:\s*$/.test(line)) {
      list = section.perItem;
      continue;
    }
    const entry = /^\s*(\+?)(\d+)\s+([A-Za-z]\w*)\s/.exec(line);
    if (!entry) {
      // A description running on, or "none": never a number.
      expect(line).not.toMatch(/^\s*\+?\d/);
      continue;
    }
    const [, plus, index, field] = entry as unknown as [string, string, string, string];
    expect(`${name}.lua ${plus}${index}`).toBe(`${name}.lua ${list === section.perItem ? '+' : ''}${list.length + 1}`);
    list.push(field);
  }
  return layout;
}

/** An input whose fields not given are their own names: a key given so is named in the call. */
function named<T>(given: object = {}): T {
  return new Proxy(given, {
    get: (target, field) => (field in target ? (target as Record<string | symbol, unknown>)[field] : String(field)),
  }) as T;
}

/** A client that records the script calls (ioredis flattens a command's array arguments, as here). */
function recorder() {
  const calls: Array<{ command: string; keys: unknown[]; argv: unknown[] }> = [];
  const client: Record<string, unknown> = {
    defineCommand(command: string) {
      client[command] = (...args: unknown[]) => {
        const [numKeys, ...rest] = args.flat();
        calls.push({ command, keys: rest.slice(0, numKeys as number), argv: rest.slice(numKeys as number) });
        return Promise.resolve([]);
      };
    },
  };
  return { client: client as unknown as Redis, calls };
}

const ITEMS = [named(), named()];

/** Each script's function, called with named fields (and numbers where it formats them). */
const CALLS: Record<string, (client: Redis) => Promise<unknown>> = {
  'apply-deliveries': (c) =>
    scripts.applyDeliveries(
      c,
      named({
        keys: named(),
        rows: ITEMS.map(() => named({ message: named(), update: named(), rank: 'rank' })),
      }),
    ),
  'apply-delivery': (c) => scripts.applyDelivery(c, named({ keys: named(), update: named() })),
  'cancel-messages': (c) => scripts.cancelMessages(c, named({ keys: named(), messages: ITEMS })),
  'create-followup': (c) =>
    scripts.createFollowup(
      c,
      named({
        keys: named({ rules: ['rule', 'rule'] }),
        now: 1,
        maxActive: 1,
        maxKept: 1,
        ruleIds: ['ruleId', 'ruleId'],
      }),
    ),
  'enqueue-messages': (c) => scripts.enqueueMessages(c, named({ keys: named(), messages: ITEMS })),
  'grant-sends': (c) =>
    scripts.grantSends(c, named({ keys: named(), spacingMs: 1, leadMs: 1, laneSpacingMs: 1, requests: ITEMS })),
  'learn-message-id': (c) => scripts.learnMessageId(c, named({ keys: named() })),
  'link-users': (c) => scripts.linkUsers(c, named({ keys: named() })),
  'mark-done': (c) => scripts.markDone(c, named({ keys: named(), now: 1, data: {} })),
  'move-followup': (c) => scripts.moveFollowup(c, named({ keys: named(), from: ['from'], keepMs: 1 })),
  'move-funnel': (c) => scripts.moveFunnel(c, named({ keys: named() })),
  'record-rejects': (c) => scripts.recordRejects(c, named({ keys: named(), lines: ITEMS })),
  'regrant-sends': (c) =>
    scripts.regrantSends(
      c,
      named({
        keys: named(),
        spacingMs: 1,
        leadMs: 1,
        laneSpacingMs: 1,
        grants: ITEMS.map(() => named({ check: 'none' })),
      }),
    ),
  'remove-message': (c) => scripts.removeMessage(c, named({ keys: named() })),
  'reserve-marketing': (c) => scripts.reserveMarketing(c, named({ keys: named(), now: 1, max: 1, windowMs: 1 })),
  'report-outcome': (c) => scripts.reportOutcome(c, named({ keys: named(), notSent: named() })),
  'revive-message': (c) => scripts.reviveMessage(c, named({ keys: named() })),
  'settle-messages': (c) => scripts.settleMessages(c, named({ keys: named(), messages: ITEMS })),
  'take-due-retries': (c) => scripts.takeDueRetries(c, named({ keys: named() })),
  'ungrant-sends': (c) => scripts.ungrantSends(c, named({ grants: ITEMS })),
};

/** The header's entries for a call with ITEMS. */
const expected = (layout: Layout) => [
  ...layout.fixed,
  ...(layout.perItem.length > 0 ? ITEMS.flatMap(() => layout.perItem) : []),
];

describe('the Redis scripts and their typed functions', () => {
  it('have a typed function beside every script, and a call of it here', () => {
    expect(NAMES.length).toBeGreaterThan(0);
    for (const name of NAMES) {
      expect(existsSync(new URL(`${name}.ts`, DIR))).toBe(true);
      const fn = name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
      expect([name, typeof (scripts as Record<string, unknown>)[fn]]).toEqual([name, 'function']);
    }
    expect(Object.keys(CALLS).sort()).toEqual(NAMES);
  });

  it.each(NAMES)('%s: the function passes the KEYS its header names, in its order', async (name) => {
    const { KEYS } = headerOf(name);
    const { client, calls } = recorder();
    await (CALLS[name] as (client: Redis) => Promise<unknown>)(client);
    expect(calls.map((call) => call.command)).toEqual([commandName(name)]);
    expect(calls[0]?.keys).toEqual(expected(KEYS));
  });

  it.each(NAMES)(
    '%s: the function passes as many ARGV as its header names, each named field in its place',
    async (name) => {
      const { ARGV } = headerOf(name);
      const { client, calls } = recorder();
      await (CALLS[name] as (client: Redis) => Promise<unknown>)(client);
      const names = expected(ARGV);
      const argv = calls[0]?.argv ?? [];
      expect(argv).toHaveLength(names.length);
      // A field passed as it is given arrives as its name; one the function encodes ('1' / '0', JSON) does not.
      const known = new Set(names);
      argv.forEach((value, i) => {
        if (typeof value === 'string' && known.has(value))
          expect(`ARGV ${i + 1} ${value}`).toBe(`ARGV ${i + 1} ${names[i]}`);
      });
    },
  );

  it('reads every header: numbered entries, at least one KEYS entry each', () => {
    for (const name of NAMES) expect(expected(headerOf(name).KEYS).length).toBeGreaterThan(0);
  });

  it('refuses a function for a script that is not there', () => {
    expect(() => script('no-such-script')).toThrow('src/scripts/no-such-script.lua: no such script');
  });
});
