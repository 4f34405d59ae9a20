import type { Command } from '../declaration.js';

export const WORKER = {
  name: 'worker',
  summary: 'run a send worker until SIGTERM/SIGINT',
  usage: [],
  flags: {},
  notes: ['Sends until SIGTERM/SIGINT, then stops taking jobs, finishes the sends in flight and exits 0.'],
} as const satisfies Command;
