import type { Command } from '../declaration.js';

export const SUPPRESS = {
  name: 'suppress',
  summary: 'opt-outs: numbers that get no message',
  usage: ['add|remove NUMBER… [--json]', 'import FILE|- [--json]', 'list [--json]'],
  args: [
    { name: 'add NUMBER…', help: 'suppress these numbers (any international notation)' },
    { name: 'remove NUMBER…', help: 'stop suppressing them' },
    { name: 'import FILE', help: 'suppress every number of a file, one a line; - reads stdin' },
    { name: 'list', help: 'every suppressed number, one a line' },
  ],
  flags: {
    json: { type: 'boolean', help: 'print JSON: the counts, or one {"number"} a line for list' },
  },
  notes: ['An invalid number on the command line is a usage error; import exits 1 when lines were rejected.'],
} as const satisfies Command;
