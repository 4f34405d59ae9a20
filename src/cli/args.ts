import { parseArgs } from 'node:util';
import { UsageError } from '../usage-error.js';

export { UsageError };

type Options = Record<string, { type: 'string' | 'boolean' }>;
export interface Parsed<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

/** node:util parseArgs with errors that say which flag is wrong, as a UsageError. */
export function parse<O extends Options>(argv: string[], options: O, allowPositionals = true): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true }) as unknown as Parsed<O>;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

export function intFlag(value: string | undefined, flag: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min)
    throw new UsageError(`--${flag}: expected an integer >= ${min}, got "${value}"`);
  return Number(value);
}

export function rateFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || n < 0 || n > 1)
    throw new UsageError(`--${flag}: expected a fraction between 0 and 1, got "${value}"`);
  return n;
}
