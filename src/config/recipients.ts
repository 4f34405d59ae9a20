import { z } from 'zod';
import { parseDuration } from './fields.js';

/** What wa-bulk holds back for a recipient's sake: marketing fatigue and opt-out keywords. */
export const recipientsVariables = {
  /**
   * Marketing fatigue (src/recipients/fatigue.ts): at most MAX marketing template messages per recipient in
   * any rolling WINDOW, across campaigns (`2/7d`); unset: no cap.
   */
  FREQUENCY_CAP: z
    .string()
    .transform((value, ctx) => {
      const match = /^\s*(\d{1,6})\s*\/\s*(\S+)\s*$/.exec(value);
      const max = match ? Number(match[1]) : 0;
      const windowMs = match ? parseDuration(match[2] as string) : undefined;
      if (!match || max < 1 || windowMs === undefined || windowMs < 1000 || windowMs > 366 * 86_400_000) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected MAX/WINDOW: a count from 1 and a duration from 1s to 366d (e.g. 2/7d, 1/24h)',
        });
        return z.NEVER;
      }
      return { max, windowMs };
    })
    .optional(),
  /** How long a recipient rests after Meta's 131049 (per-user marketing limit); 0: no rest. */
  MARKETING_REST: z
    .union([z.number(), z.string()])
    .transform((value, ctx) => {
      // A bare number is milliseconds: `24` meant as hours would turn the rest off unnoticed, so a rest under
      // a second is refused (0 is none).
      const ms = parseDuration(String(value));
      if (ms === undefined || (ms > 0 && ms < 1000) || ms > 30 * 86_400_000) {
        ctx.addIssue({
          code: 'custom',
          message: 'expected a duration from 1s to 30d (e.g. 24h, 6h, 90m; a bare number is ms), or 0 for no rest',
        });
        return z.NEVER;
      }
      return ms;
    })
    .default(86_400_000),
  /** An inbound message whose whole text is one of these (any case) suppresses its sender. */
  OPT_OUT_KEYWORDS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((word) => word.trim().toUpperCase())
        .filter(Boolean),
    )
    .default(['STOP', 'UNSUBSCRIBE']),
};
