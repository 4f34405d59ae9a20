import type { Command } from '../declaration.js';

export const AUDIT = {
  name: 'audit',
  summary: 'the audit log: who changed what, when, from where',
  usage: ['[--since TIME] [--actor NAME] [--target ID] [--limit N] [--json]'],
  flags: {
    since: {
      type: 'string',
      value: 'TIME',
      help: 'entries from then on: an ISO 8601 time with an offset, or a duration ago (2h, 7d)',
    },
    actor: { type: 'string', value: 'NAME', help: "only this actor: a key's name, dashboard, cli:USER, system:PART" },
    target: { type: 'string', value: 'ID', help: 'only entries about this campaign, sender, key or route' },
    limit: { type: 'int', value: 'N', min: 1, default: 1000, help: 'at most this many entries, the newest' },
    json: { type: 'boolean', help: 'one {"at","actor","action","target","params","outcome","ip"} a line' },
  },
  notes: ['With DATABASE_URL it reads PostgreSQL too, which keeps entries after Redis has let them go.'],
} as const satisfies Command;
