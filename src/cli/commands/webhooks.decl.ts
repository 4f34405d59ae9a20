import type { Command } from '../declaration.js';

export const WEBHOOKS = {
  name: 'webhooks',
  summary: 'signed webhooks for every outcome: endpoints, their secrets, their deliveries',
  usage: [
    'add URL [--events LIST] [--campaign ID] [--batch N] [--json]',
    'list [--json]',
    'remove ID',
    'rotate-secret ID [--json]',
    'enable ID',
    'test ID [--json]',
    'deliveries ID [--json]',
    'replay ID [--since TIME] [--json]',
  ],
  args: [
    { name: 'add URL', help: 'a new endpoint; its whsec_ secret is printed once' },
    { name: 'list', help: 'every endpoint: id, URL, filters, state, last attempt, counts (never the secret)' },
    { name: 'remove ID', help: 'the endpoint goes, with the deliveries it had waiting' },
    { name: 'rotate-secret ID', help: 'a new secret, printed once; the old one signs too for 24 hours' },
    { name: 'enable ID', help: 'a disabled endpoint gets deliveries again' },
    { name: 'test ID', help: 'sends it a signed webhook.test event now and says how it answered' },
    { name: 'deliveries ID', help: 'its deliveries waiting for a retry, and those out of attempts' },
    { name: 'replay ID', help: 'its deliveries out of attempts are sent again, with their webhook-id' },
  ],
  flags: {
    events: {
      type: 'string',
      value: 'LIST',
      help: 'add: the events it gets, comma-separated: types (message.read), groups (message.*) or *; default all',
    },
    campaign: { type: 'string', value: 'ID', help: "add: only this campaign's events" },
    batch: { type: 'string', value: 'N', help: 'add: up to N events a request (1 to 1000; default 1)' },
    since: {
      type: 'string',
      value: 'TIME',
      help: 'replay: only deliveries given up since then (an ISO time, or a duration back: 2h, 3d)',
    },
    json: { type: 'boolean', help: 'print JSON: the endpoint (add: with its secret), or one object a line' },
  },
  notes: ['Exit 1 for an unknown endpoint id, and for a test the endpoint did not answer with 2xx.'],
} as const satisfies Command;
