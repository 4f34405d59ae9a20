import type { Command } from '../declaration.js';

export const STATUS = {
  name: 'status',
  summary: 'queue counts, pause state, dead letters, campaign progress',
  usage: ['[--campaign ID] [--json]'],
  flags: {
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      help: 'also show this campaign',
    },
    json: { type: 'boolean', help: 'print the report as JSON' },
  },
  notes: ['Exit 1 when --campaign names a campaign the ledger does not know.'],
} as const satisfies Command;
