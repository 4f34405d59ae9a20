import { z } from 'zod';
import * as api from '../api-schemas.js';

/**
 * How a route of the dashboard is described for the contract (openapi.ts turns each into an OpenAPI
 * operation), and the answers many routes share. The routes themselves are in the modules beside this one,
 * by area; index.ts lists them in the document's order.
 */

export type Method = 'get' | 'post' | 'delete';

export interface RouteDoc {
  /** The operationId: what a generated client names the call. */
  id: string;
  method: Method;
  path: string;
  tag: string;
  summary: string;
  description?: string;
  /** Public routes need no credentials (the role table has no row for them). */
  isPublic?: boolean;
  path_params?: z.ZodObject;
  query?: z.ZodObject;
  /** Media type → schema of the body. */
  body?: Record<string, z.ZodType>;
  /** Status → answer: a JSON schema (or several: any of them), another media type, or none. */
  responses: Record<string, Answer>;
}

export interface Answer {
  description: string;
  /** A JSON body: this schema, or any of these. */
  json?: z.ZodType | z.ZodType[];
  /** Bodies of other media types, described in words. */
  media?: Record<string, string>;
}

export const json = (description: string, schema: z.ZodType | z.ZodType[]): Answer => ({ description, json: schema });
export const error = (description: string): Answer => json(description, api.errorSchema);
export const text = (description: string, media: string, what: string): Answer => ({
  description,
  media: { [media]: what },
});

export const campaign = z.object({ id: api.campaignIdParam });
export const UNKNOWN_CAMPAIGN = error('no such campaign (unknown, or older than RESULT_TTL_DAYS)');
export const NOT_JSON = error('the body is not `application/json`');
export const BAD_REQUEST = error('a malformed identifier, parameter or body');
export const TOO_LARGE = error('the body is over its limit');
export const CSV_MEDIA = { 'text/csv': 'CSV with a header line' };
/** What a route that reads a JSON body (smallJson, body.ts) may refuse: a bad body, one over 1 MB, another type. */
export const BODY_REFUSALS = { 400: BAD_REQUEST, 413: TOO_LARGE, 415: NOT_JSON } as const;
