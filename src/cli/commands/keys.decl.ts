import type { Command } from '../declaration.js';

export const KEYS = {
  name: 'keys',
  summary: 'API keys for the systems that call the HTTP API: create, list, roll, revoke',
  usage: [
    'create --name NAME --role send|read|control|admin [--expires DURATION] [--rate N] [--json]',
    'list [--json]',
    'roll NAME [--overlap DURATION] [--expires DURATION] [--json]',
    'revoke NAME [--json]',
  ],
  args: [
    { name: 'create', help: 'a new key, printed once: keep it, wa-bulk stores only its SHA-256' },
    {
      name: 'list',
      help: 'every key: name, role, prefix, state, created, last used, expires, revoked (never the key)',
    },
    { name: 'roll NAME', help: 'a new key for the name, its role and rate; the old one works until --overlap ends' },
    { name: 'revoke NAME', help: 'the key stops working at once, in every dashboard process' },
  ],
  flags: {
    name: {
      type: 'string',
      value: 'NAME',
      help: 'the key\'s name: 1-64 letters, digits, "_", "-", "." (audit log, metrics)',
    },
    role: {
      type: 'choice',
      choices: ['send', 'read', 'control', 'admin'],
      value: 'ROLE',
      help: 'what the key may do: send, read, control or admin',
    },
    expires: {
      type: 'string',
      value: 'DURATION',
      help: 'the key stops working this long after it is made (90s, 10m, 2h, 30d)',
    },
    rate: { type: 'string', value: 'N', help: 'requests a second this key may make (default API_KEY_RATE)' },
    overlap: {
      type: 'string',
      value: 'DURATION',
      default: '1h',
      help: 'roll: how long the old key keeps working beside the new one',
    },
    json: {
      type: 'boolean',
      help: 'print JSON: the new key\'s {"name","role","key","prefix","expires_at"}, or one key a line for list',
    },
  },
  notes: [
    'The key is printed once; it cannot be shown again. Exit 1 for an unknown name or a name that has a live key.',
  ],
} as const satisfies Command;
