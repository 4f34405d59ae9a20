import { parseArgs } from 'node:util';
import { UsageError } from '../usage-error.js';
import { campaignId } from '../messages/ids.js';
import type { Command, Flag } from './declaration.js';

export { UsageError };

type ValueOf<F extends Flag> = F extends { type: 'boolean' }
  ? boolean
  : F extends { type: 'int' | 'rate' }
    ? number
    : F extends { type: 'choice'; choices: readonly (infer C)[] }
      ? C
      : string;

/** Always there: a boolean (false when absent), a flag with a default, a required flag. */
type Always<F extends Flag> = F extends { type: 'boolean' } | { default: unknown } | { required: true } ? true : false;

export type Values<Flags extends Command['flags']> = {
  -readonly [K in keyof Flags]: Always<Flags[K]> extends true ? ValueOf<Flags[K]> : ValueOf<Flags[K]> | undefined;
};

export interface Parsed<C extends Command> {
  values: Values<C['flags']>;
  positionals: string[];
}

/**
 * argv read by the command's declaration: each flag's value checked and converted by its type, defaults
 * filled in, booleans false when absent. Whatever is wrong is a UsageError naming the flag.
 */
export function parse<C extends Command>(command: C, argv: string[]): Parsed<C> {
  const options = Object.fromEntries(
    Object.entries(command.flags).map(([name, flag]) => [
      name,
      {
        type: flag.type === 'boolean' ? 'boolean' : 'string',
        multiple: flag.type === 'string' && flag.repeatable === true,
      },
    ]),
  ) as Record<string, { type: 'boolean' | 'string'; multiple: boolean }>;
  let parsed: { values: Record<string, string | boolean | Array<string | boolean> | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: command.args !== undefined, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const values: Record<string, unknown> = {};
  for (const [name, flag] of Object.entries(command.flags)) {
    const raw = parsed.values[name];
    values[name] = valueOf(command.name, name, flag, Array.isArray(raw) ? raw.join(',') : raw);
  }
  return { values: values as Values<C['flags']>, positionals: parsed.positionals };
}

function valueOf(command: string, name: string, flag: Flag, raw: string | boolean | undefined): unknown {
  if (flag.type === 'boolean') return raw === true;
  const text = raw as string | undefined;
  switch (flag.type) {
    case 'int':
      return intFlag(text, name, flag.min, flag.max) ?? flag.default;
    case 'rate':
      return rateFlag(text, name) ?? flag.default;
    case 'choice':
      if (text !== undefined && !flag.choices.includes(text))
        throw new UsageError(`--${name}: expected ${alternatives(flag.choices)}, got "${text}"`);
      return text ?? flag.default;
    case 'string':
      if (text === undefined && flag.required)
        throw new UsageError(`--${name} is required ("wa-bulk ${command} --help" shows the usage)`);
      if (text !== undefined && flag.campaignId) campaignId(text, `--${name}`);
      return text ?? flag.default;
  }
}

/** `a, b or c`. */
export function alternatives(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join('') : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
}

export function intFlag(value: string | undefined, flag: string, min = 0, max?: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > (max ?? Number.MAX_SAFE_INTEGER))
    throw new UsageError(
      `--${flag}: expected an integer ${max === undefined ? `>= ${min}` : `from ${min} to ${max}`}, got "${value}"`,
    );
  return n;
}

/**
 * A check shared with the HTTP API names the body field it refuses (`name: …`); on the command line the
 * message names the flag or argument instead (`fields`: field → `--flag`).
 */
export function namingFlag(message: string, fields: Readonly<Record<string, string>>): string {
  const match = /^([a-z_]+): /.exec(message);
  const flag = match ? fields[match[1] as string] : undefined;
  return match && flag ? `${flag}: ${message.slice(match[0].length)}` : message;
}

export function rateFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || n < 0 || n > 1)
    throw new UsageError(`--${flag}: expected a fraction between 0 and 1, got "${value}"`);
  return n;
}
