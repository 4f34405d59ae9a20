import type { Command } from '../declaration.js';

export const EXPORT = {
  name: 'export',
  summary: 'every message of a campaign, one per line',
  usage: [
    '--campaign ID [--format jsonl|csv|audience] [--status S,…] [--reason R,…] [--code N,…] [--delivery D,…]',
    '--campaign ID --rejected [--format jsonl|csv]',
  ],
  flags: {
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      required: true,
      help: 'the campaign',
    },
    format: {
      type: 'choice',
      choices: ['jsonl', 'csv', 'audience'],
      default: 'jsonl',
      help: 'one record as "result --json" prints it a line, CSV with a header row, or audience: a CSV that "enqueue --format csv" reads (to and arg_<name> columns from custom_args)',
    },
    status: {
      type: 'string',
      repeatable: true,
      value: 'S,…',
      help: 'only messages in these states: pending, sent, dead, skipped (a comma list, or the flag repeated)',
    },
    reason: {
      type: 'string',
      repeatable: true,
      value: 'R,…',
      help: 'only messages dead or skipped for these reasons (error.reason), e.g. permanent, suppressed',
    },
    code: {
      type: 'string',
      repeatable: true,
      value: 'N,…',
      help: 'only messages with these error codes: the code they died with, or their delivery failure code',
    },
    delivery: {
      type: 'string',
      repeatable: true,
      value: 'D,…',
      help: 'only messages in these delivery states: failed, not_delivered, not_read, replied (docs/campaigns.md)',
    },
    rejected: {
      type: 'boolean',
      help: 'the lines refused at enqueue instead (the first 1,000 of the campaign): line, error, enqueued_at',
    },
  },
  notes: [
    'Filters of different kinds must all match; the values of one kind are alternatives.',
    'The filters and --format audience do not apply to --rejected.',
    'Exit 1 for an unknown campaign, 2 for a bad filter.',
  ],
} as const satisfies Command;
