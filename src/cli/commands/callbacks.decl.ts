import type { Command } from '../declaration.js';

export const CALLBACKS = {
  name: 'callbacks',
  summary: 'callback rows the receiver did not understand',
  usage: ['unknown [--limit N] [--json]'],
  args: [
    {
      name: 'unknown',
      help: 'the rows of an unknown shape kept aside (newest first, the latest 1000 for 7 days): when, why, the row',
    },
  ],
  flags: {
    limit: { type: 'int', value: 'N', min: 1, default: 20, help: 'at most N rows (default 20)' },
    json: { type: 'boolean', help: 'print JSON: one {"received_at","error","row","truncated"} a line' },
  },
} as const satisfies Command;
