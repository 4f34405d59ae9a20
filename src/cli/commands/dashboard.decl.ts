import type { Command } from '../declaration.js';

export const DASHBOARD = {
  name: 'dashboard',
  summary: 'the campaigns page, Bull Board, /metrics, /healthz, the HTTP API and the callback receiver',
  usage: [],
  flags: {},
  notes: ['Listens on DASHBOARD_HOST:DASHBOARD_PORT until SIGTERM/SIGINT; see docs/http-api.md.'],
} as const satisfies Command;
