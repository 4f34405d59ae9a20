import type { z } from 'zod';
import { messageSchema, type Message } from './schema.js';

export type Validation = { ok: true; message: Message } | { ok: false; error: string };

/** `body.template.components[1].parameters[0]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** One line a person can act on: the field first, then what is wrong with it. At most three problems. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 3).map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    const where = formatPath(issue.path);
    return where ? `${where}: ${message}` : message;
  });
  const more = issues.length > 3 ? ` (and ${issues.length - 3} more)` : '';
  return parts.join('; ') + more;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Plain words for zod's generic issues; the schema's own messages are kept. */
export const messageErrors: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `expected ${issue.expected === 'object' ? 'an object' : issue.expected === 'array' ? 'an array' : `a ${issue.expected}`}, got ${kindOf(issue.input)}`;
  }
  return undefined;
};

export function validateMessage(value: unknown): Validation {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: 'a message must be a JSON object with "to" and "body"' };
  }
  const parsed = messageSchema.safeParse(value, { error: messageErrors });
  return parsed.success ? { ok: true, message: parsed.data } : { ok: false, error: formatIssues(parsed.error.issues) };
}

/** Parses one JSON text (a JSONL line, an HTTP body) and validates it. */
export function validateJson(text: string): Validation {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, error: `not valid JSON (${(error as Error).message})` };
  }
  return validateMessage(value);
}
