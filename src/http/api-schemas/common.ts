import { z } from 'zod';
import { CAMPAIGN_ID, REQUEST_ID, REQUEST_ID_RULE } from '../../messages/ids.js';

// What every area's answers are built of: counts, times, the error object, the identifiers in paths, and the
// compile-time check that a schema and its TypeScript shape agree.

export const count = z.number().int().nonnegative();
export const time = z.iso.datetime().meta({ description: 'ISO 8601, UTC' });

export const errorSchema = z
  .object({ error: z.string().meta({ description: 'what is wrong, naming the field or parameter' }) })
  .meta({ id: 'Error', description: 'Every refusal and failure: 4xx and 5xx answers.' });

// Identifiers in paths.
export const campaignIdParam = z
  .string()
  .regex(CAMPAIGN_ID)
  .meta({ description: 'the campaign id: 1-64 letters, digits, "_" or "-"', example: 'spring-sale' });
export const requestIdParam = z
  .string()
  .regex(REQUEST_ID)
  .meta({ description: `the message's request_id: ${REQUEST_ID_RULE}` });
export const keyNameParam = z.string().meta({ description: "the key's name", example: 'shop' });

/** True when A and B accept each other's values: a schema and the shape it describes. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const same = <T extends true>(value: T) => value;
