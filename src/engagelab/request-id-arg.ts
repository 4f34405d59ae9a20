import { REQUEST_ID } from '../messages/ids.js';
import { REQUEST_ID_ARG } from '../messages/schema.js';
import type { CallbackRow } from './callbacks.js';
import type { SendPayload } from './client.js';

/**
 * The message's request_id in the custom_args sent to EngageLab, under REQUEST_ID_ARG (wa_bulk_request_id).
 * EngageLab echoes custom_args in every status callback (its "Message status callback" documentation), so a
 * callback names its message even when the answer that carried its message_id was lost. The user's own keys
 * go as they are; the ledger and the dead letters keep the payload without this key.
 */
export function withRequestIdArg(payload: SendPayload, requestId: string): SendPayload {
  return { ...payload, custom_args: { ...payload.custom_args, [REQUEST_ID_ARG]: requestId } };
}

/**
 * The JSON a worker sends for a job's payload: withRequestIdArg of the payload with `from` defaulted (WA_FROM;
 * the payload's own wins), given the payload's own JSON (`json`, JSON.stringify of it; the worker has it
 * already for the payload's digest). The payload is not serialised again when the text can be told from its
 * JSON: the request_id goes at the end of custom_args, which is new at the end of the payload or its last
 * key already (as enqueue writes it), and a defaulted `from` after it; the result is the text JSON.stringify
 * of the payload sent would give. Anything else is serialised again.
 */
export function sendableJson(
  payload: SendPayload,
  json: string,
  requestId: string,
  defaultFrom: string | undefined,
): string {
  const from = payload.from === undefined && defaultFrom ? defaultFrom : undefined;
  const fromJson = from === undefined ? '' : `,"from":${JSON.stringify(from)}`;
  const arg = `"${REQUEST_ID_ARG}":${JSON.stringify(requestId)}`;
  // A key already there (even undefined) keeps its place in a spread: `from` must be new to go at the end.
  const atEnd = !(from !== undefined && 'from' in payload) && json.charCodeAt(json.length - 1) === 125; /* } */
  let last: string | undefined;
  for (const key in payload) last = key;
  const own = payload.custom_args;
  if (atEnd && !('custom_args' in payload) && json.length > 2)
    return `${json.slice(0, -1)}${fromJson},"custom_args":{${arg}}}`;
  if (atEnd && last === 'custom_args' && isPlainObject(own) && !(REQUEST_ID_ARG in own)) {
    const args = JSON.stringify(own);
    const tail = `"custom_args":${args}}`;
    if (json.endsWith(tail)) {
      const merged = args === '{}' ? `{${arg}}` : `${args.slice(0, -1)},${arg}}`;
      return `${json.slice(0, -tail.length)}"custom_args":${merged}${fromJson}}`;
    }
  }
  return JSON.stringify(withRequestIdArg(from === undefined ? payload : { ...payload, from }, requestId));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The request_id a callback row's custom_args name, when they name a valid one. */
export function requestIdArgOf(row: CallbackRow): string | undefined {
  const value = row.custom_args?.[REQUEST_ID_ARG];
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}
