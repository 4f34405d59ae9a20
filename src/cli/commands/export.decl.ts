import type { Command } from '../declaration.js';

export const EXPORT = {
  name: 'export',
  summary: 'every message of a campaign, one per line',
  usage: ['--campaign ID [--format jsonl|csv] [--rejected]'],
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
      choices: ['jsonl', 'csv'],
      default: 'jsonl',
      help: 'one record as "result --json" prints it a line, or CSV with a header row',
    },
    rejected: {
      type: 'boolean',
      help: 'the lines refused at enqueue instead (the first 1,000 of the campaign): line, error, enqueued_at',
    },
  },
  notes: ['Exit 1 for an unknown campaign.'],
} as const satisfies Command;
