import type { Command } from '../declaration.js';

export const REMOVE = {
  name: 'remove',
  summary: 'take one message back before it is sent: it ends skipped, reason removed',
  usage: ['REQUEST_ID [--json]'],
  args: [{ name: 'REQUEST_ID', help: "the message's request_id (yours, or the derived one)" }],
  flags: {
    json: { type: 'boolean', help: "print the message's record, as result --json does, once it is removed" },
  },
  notes: [
    'Only a message no request is on the wire for: waiting, delayed or parked in its queue, or held by a ' +
      'worker before its first request (which then ends without one). Its campaign counts it as skipped. ' +
      'Exit 1, with the reason, for a message that is unknown, sent, dead, skipped already, in flight, or ' +
      'held by a worker between two attempts.',
  ],
} as const satisfies Command;
