import { MAX_DELAY_MS, type Command } from '../declaration.js';

export const WATCH = {
  name: 'watch',
  summary: 'live progress until the campaign is done',
  usage: ['[--campaign ID] [--interval-ms N]'],
  flags: {
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      help: 'the campaign to follow (without it: the send queues)',
    },
    'interval-ms': {
      type: 'int',
      value: 'N',
      min: 10,
      max: MAX_DELAY_MS,
      default: 500,
      help: 'how often it asks Redis',
    },
  },
  notes: ['A progress bar on a terminal; a plain line every few seconds otherwise. Exit 1 for an unknown campaign.'],
} as const satisfies Command;
