import type { Command } from '../declaration.js';

export const ENQUEUE = {
  name: 'enqueue',
  summary: 'validate a JSONL/CSV file and enqueue one job per message',
  usage: [
    'FILE|- --campaign ID [--format jsonl|csv] [--template NAME --language CODE | --text "…"] [--at TIME] ' +
      '[--send-window HH:MM-HH:MM] [--expires-in DURATION | --expires-at TIME] [--priority high|normal|low] ' +
      '[--no-preflight] [--dry-run] [--strict] [--json]',
  ],
  args: [{ name: 'FILE', help: 'a JSONL or CSV file; - reads stdin' }],
  flags: {
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      required: true,
      help: '1-64 letters, digits, "_" or "-"',
    },
    format: { type: 'choice', choices: ['jsonl', 'csv'], help: "the file's format (default: from the file name)" },
    template: { type: 'string', value: 'NAME', help: "CSV template campaigns: the template's name" },
    language: { type: 'string', value: 'CODE', help: 'CSV template campaigns: its language code' },
    text: { type: 'string', value: '"…"', help: 'CSV text campaigns: the text, with {{column}} placeholders' },
    at: { type: 'string', value: 'TIME', help: 'no message leaves before TIME (ISO 8601 with an offset, or +30m)' },
    'send-window': {
      type: 'string',
      value: 'HH:MM-HH:MM',
      help: "only inside this span of the recipient's local time, e.g. 09:00-21:00",
    },
    'expires-in': {
      type: 'string',
      value: 'DURATION',
      help: 'a message not sent within DURATION (90s, 10m, 2h, 1d) is never sent',
    },
    'expires-at': { type: 'string', value: 'TIME', help: 'a message not sent by TIME is never sent' },
    priority: {
      type: 'string',
      value: 'high|normal|low',
      help: 'high messages leave before waiting normal ones, normal before low (default normal)',
    },
    'no-preflight': { type: 'boolean', help: 'skip the template and media checks (see "wa-bulk check")' },
    'dry-run': { type: 'boolean', help: 'validate and count, write nothing' },
    strict: { type: 'boolean', help: 'enqueue nothing if any line is invalid' },
    json: { type: 'boolean', help: 'print the summary as JSON' },
  },
  notes: ['Exit 1 when lines were rejected (the valid ones are still enqueued unless --strict).'],
} as const satisfies Command;

/** enqueue --dry-run with preflight, whatever the flags: enqueue's flags, some of them meaning less. */
export const CHECK = {
  name: 'check',
  summary: 'validate a file and check its templates and media links, sending nothing',
  usage: ["FILE|- --campaign ID [enqueue's options] [--strict] [--json]"],
  args: ENQUEUE.args,
  flags: {
    ...ENQUEUE.flags,
    'no-preflight': { type: 'boolean', help: 'accepted, and changes nothing: check always runs preflight' },
    'dry-run': { type: 'boolean', help: 'accepted, and changes nothing: check never writes' },
    strict: { type: 'boolean', help: 'warnings become rejects' },
    json: { type: 'boolean', help: 'print the summary as JSON, with "warnings"' },
  },
  notes: [
    "Validates like enqueue --dry-run, and checks each distinct template against EngageLab's Template API and " +
      "each distinct media link (HEAD) against WhatsApp's media rules. Unreachable links are warnings (rejects " +
      'with --strict). Exit 1 when lines were rejected.',
  ],
} as const satisfies Command;
