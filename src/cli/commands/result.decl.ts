import type { Command } from '../declaration.js';

export const RESULT = {
  name: 'result',
  summary: "one message's record",
  usage: ['REQUEST_ID [--json]'],
  args: [{ name: 'REQUEST_ID', help: "the message's request_id (yours, or the derived one)" }],
  flags: {
    json: { type: 'boolean', help: 'print the record as JSON' },
  },
  notes: ['Exit 1 when the ledger does not know the request_id.'],
} as const satisfies Command;
