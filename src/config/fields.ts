import { z } from 'zod';
import { formatNetwork, parseNetwork } from '../networks.js';

/** The shapes of values several areas' variables share, each with the error message it gives. */

/** Networks separated by commas, each checked; kept as canonical CIDR text. */
export function parseNetworks(value: string, ctx: z.RefinementCtx): string[] {
  const out: string[] = [];
  for (const part of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const network = parseNetwork(part);
    if (!network) {
      ctx.addIssue({
        code: 'custom',
        message: `expected networks separated by commas, each an address or a CIDR block (e.g. 203.0.113.0/24,2001:db8::/32), and "${part}" is not one`,
        params: { quotesInput: true },
      });
      return [];
    }
    out.push(formatNetwork(network));
  }
  return out;
}

/** A duration: a number of milliseconds, or a number with ms, s, m, h or d. Undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms'] as number;
  return Math.round(Number(match[1]) * unit);
}

export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: `expected an integer between ${min} and ${max}` })
    .int({ error: `expected an integer between ${min} and ${max}` })
    .min(min, { error: `expected an integer between ${min} and ${max}` })
    .max(max, { error: `expected an integer between ${min} and ${max}` });

export const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );
