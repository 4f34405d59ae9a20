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

/** The request_id a callback row's custom_args name, when they name a valid one. */
export function requestIdArgOf(row: CallbackRow): string | undefined {
  const value = row.custom_args?.[REQUEST_ID_ARG];
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}
