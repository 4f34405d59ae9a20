import type { Attributes } from '@opentelemetry/api';
import { maskPhone } from '../messages/phone.js';
import { DEFAULT_LANE, laneOfQueue } from '../queue.js';

/** The messaging semantic conventions as wa-bulk's spans use them (src/telemetry/traces.ts). */

/** BullMQ on Redis is what carries the messages; `messaging.system` is the name older backends key on. */
export const MESSAGING_SYSTEM = 'bullmq';

export type MessagingOperation = 'create' | 'send' | 'process' | 'settle';

/**
 * A queue's name as spans show it: a sender lane's queue is named after its sending number, which is
 * masked as logs mask numbers ("send-8613*******00"); the default lane's is "send".
 */
export function destinationOf(queueName: string): string {
  const lane = laneOfQueue(queueName);
  return lane === undefined || lane === DEFAULT_LANE ? queueName : `send-${maskPhone(lane)}`;
}

/** The messaging semantic conventions' attributes of one operation on one queue. */
export function messagingAttributes(
  operation: MessagingOperation,
  operationName: string,
  queueName: string,
  requestId?: string,
): Attributes {
  return {
    'messaging.system': MESSAGING_SYSTEM,
    'messaging.system.name': MESSAGING_SYSTEM,
    'messaging.operation.type': operation,
    'messaging.operation.name': operationName,
    'messaging.destination.name': destinationOf(queueName),
    ...(requestId !== undefined && { 'messaging.message.id': requestId }),
  };
}
