import type { Command } from '../declaration.js';

export const SUPPRESS = {
  name: 'suppress',
  summary: 'opt-outs: numbers and business-scoped user ids that get no message',
  usage: ['add|remove NUMBER… [--json]', 'import FILE|- [--json]', 'list [--json]'],
  args: [
    {
      name: 'add NUMBER…',
      help: 'suppress these numbers (any international notation) or business-scoped user ids (US.1349…)',
    },
    { name: 'remove NUMBER…', help: 'stop suppressing them, and the id or number each is linked to' },
    { name: 'import FILE', help: 'suppress every number or id of a file, one a line; - reads stdin' },
    { name: 'list', help: 'every suppressed number and id, one a line' },
  ],
  flags: {
    json: { type: 'boolean', help: 'print JSON: the counts, or one {"number","kind"} a line for list' },
  },
  notes: [
    'An invalid number on the command line is a usage error; import exits 1 when lines were rejected.',
    'An id suppresses the number it is linked to, now or once a callback links them; messages are sent to numbers only.',
  ],
} as const satisfies Command;
