import type { Request } from 'express';
import type { z } from 'zod';
import { formatPath } from '../messages/validate.js';
import { UsageError } from '../usage-error.js';

/**
 * A request's query or JSON body, parsed with the schema the contract publishes for its route
 * (request-schemas.ts, admin-schemas.ts), so that what the document describes and what the route accepts are
 * one object. A refusal is a UsageError, which the app answers 400 `{error}`: the first problem, naming the
 * field, as `<prefix><field>: <what is wrong>` ("query limit: expected an integer from 1 to 1000").
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix = '', whole = 'body'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = formatPath(issue?.path ?? []);
  // zod's own wording starts "Invalid input: expected string, received number"; the schemas' messages do not.
  const what = (issue?.message ?? 'not valid').replace(/^Invalid input: /, '');
  // A problem with the whole (an unknown field) is named by where it came: `query: unknown field "x"`.
  throw new UsageError(`${field === '' ? prefix.trim() || whole : `${prefix}${field}`}: ${what}`);
}

/** The query string of a request, parsed with its route's schema; `prefix` goes before a field's name. */
export const parseQuery = <S extends z.ZodType>(schema: S, req: Request, prefix = ''): z.output<S> =>
  parseInput(schema, req.query, prefix, 'query');

/** The JSON body of a request (none: `{}`), parsed with its route's schema. */
export const parseBody = <S extends z.ZodType>(schema: S, req: Request, prefix = ''): z.output<S> =>
  parseInput(schema, req.body ?? {}, prefix);
