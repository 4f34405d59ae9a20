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
 * already for the payload's digest). A payload without custom_args of its own, the usual case, is not
 * serialised again: the keys added go at the end of its JSON, the text JSON.stringify of the payload sent
 * would give.
 */
export function sendableJson(
  payload: SendPayload,
  json: string,
  requestId: string,
  defaultFrom: string | undefined,
): string {
  const from = payload.from === undefined && defaultFrom ? defaultFrom : undefined;
  // Keys already there (even undefined) keep their place in a spread: then the payload sent is serialised.
  const inPlace = 'custom_args' in payload || (from !== undefined && 'from' in payload);
  if (inPlace || json.length < 3 || json.charCodeAt(json.length - 1) !== 125 /* } */)
    return JSON.stringify(withRequestIdArg(from === undefined ? payload : { ...payload, from }, requestId));
  const fromJson = from === undefined ? '' : `,"from":${JSON.stringify(from)}`;
  return `${json.slice(0, -1)}${fromJson},"custom_args":{"${REQUEST_ID_ARG}":${JSON.stringify(requestId)}}}`;
}

/** The request_id a callback row's custom_args name, when they name a valid one. */
export function requestIdArgOf(row: CallbackRow): string | undefined {
  const value = row.custom_args?.[REQUEST_ID_ARG];
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}
