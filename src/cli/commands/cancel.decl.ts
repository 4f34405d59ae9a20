import type { Command } from '../declaration.js';

export const CANCEL = {
  name: 'cancel',
  summary: 'cancel a campaign for good: no further message of it leaves',
  usage: ['--campaign ID [--json]'],
  flags: {
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      required: true,
      help: 'the campaign',
    },
    json: { type: 'boolean', help: 'print {"campaign","state":"cancelled","skipped_now"}' },
  },
  notes: [
    'Its messages not yet requested end skipped, reason cancelled, those a worker holds included; ' +
      'requests already in flight finish. ' +
      'Exit 1 for an unknown campaign.',
  ],
} as const satisfies Command;
