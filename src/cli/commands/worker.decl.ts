import type { Command } from '../declaration.js';

export const WORKER = {
  name: 'worker',
  summary: 'run a send worker until SIGTERM/SIGINT',
  usage: [],
  flags: {},
  notes: [
    'Sends until SIGTERM/SIGINT, then stops taking jobs, finishes the sends in flight and exits 0.',
    'A second signal exits at once (code 130 after SIGINT, 143 after SIGTERM) and says how many requests it ' +
      'leaves in flight; another worker takes their jobs over within 1.2 × WORKER_LOCK_MS and records them as ' +
      'unknown outcomes, or sends them again with AMBIGUOUS_OUTCOME=resend (see docs/operations.md).',
  ],
} as const satisfies Command;
