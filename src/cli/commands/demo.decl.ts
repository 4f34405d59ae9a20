import type { Command } from '../declaration.js';

export const DEMO = {
  name: 'demo',
  summary: 'everything on this machine, on a sample campaign, with no account',
  usage: ['[--exit] [--file FILE] [--fail-rate F]'],
  flags: {
    exit: { type: 'boolean', help: 'stop when the campaigns are done instead of serving the dashboard' },
    file: { type: 'string', value: 'FILE', help: 'another JSONL campaign instead of the sample' },
    'fail-rate': { type: 'rate', value: 'F', default: 0.02, help: 'share of requests the simulator fails' },
  },
  notes: ['Exit 1 if a campaign did not finish. See docs/cli.md (wa-bulk demo) for what it runs.'],
} as const satisfies Command;
