import type { Command } from '../declaration.js';

export const CAMPAIGNS = {
  name: 'campaigns',
  summary: 'every campaign with its counts, newest first',
  usage: ['[--json]'],
  flags: {
    json: { type: 'boolean', help: 'one JSON object per campaign and line' },
  },
} as const satisfies Command;
