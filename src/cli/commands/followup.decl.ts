import type { Command } from '../declaration.js';

export const FOLLOWUP = {
  name: 'followup',
  summary: 'a follow-up campaign, later, to the recipients of a campaign by outcome',
  usage: [
    '--from ID --where OUTCOME,… (--after DURATION | --at TIME) --campaign NEW ' +
      '(--template NAME --language CODE [--params JSON] | --text "…") [--send-window HH:MM-HH:MM] ' +
      '[--expires-in DURATION | --expires-at TIME] [--priority high|normal|low] [--json]',
    'list [--from ID] [--json]',
    'cancel ID [--json]',
  ],
  args: [
    { name: 'list', help: 'every follow-up rule kept: its rule, due time, state and counts' },
    {
      name: 'cancel ID',
      help: 'a scheduled rule, or one left evaluating that no worker runs now, is cancelled: it sends nothing more',
    },
  ],
  flags: {
    from: { type: 'string', value: 'ID', help: 'the source campaign (list: only its rules)' },
    where: {
      type: 'string',
      value: 'OUTCOME,…',
      help: 'its messages that match these export filter words: not_read, failed, replied, dead, a reason, an error code…',
    },
    after: {
      type: 'string',
      value: 'DURATION',
      help: "this long (90s, 10m, 24h, 2d) after the source campaign's end, or its start while it has not ended",
    },
    at: {
      type: 'string',
      value: 'TIME',
      help: 'at TIME instead (ISO 8601 with an offset, or +30m; a past TIME: at once)',
    },
    campaign: { type: 'string', value: 'NEW', help: 'the follow-up campaign (not the source)' },
    template: { type: 'string', value: 'NAME', help: 'a template message: its name' },
    language: { type: 'string', value: 'CODE', help: "the template's language code" },
    params: {
      type: 'string',
      value: 'JSON',
      help: 'its parameters as CSV template columns, {{name}} for a custom_args value: {"body_1":"{{name}}"}',
    },
    text: { type: 'string', value: '"…"', help: 'a text message instead; {{name}} for a custom_args value' },
    'send-window': {
      type: 'string',
      value: 'HH:MM-HH:MM',
      help: "its messages leave only in this span of the recipient's local time (as enqueue)",
    },
    'expires-in': {
      type: 'string',
      value: 'DURATION',
      help: 'its messages not sent this long after the rule is evaluated are never sent',
    },
    'expires-at': { type: 'string', value: 'TIME', help: 'its messages not sent by TIME are never sent' },
    priority: { type: 'string', value: 'high|normal|low', help: "its messages' priority in their lane (as enqueue)" },
    json: { type: 'boolean', help: 'print the rule as JSON (list: one a line)' },
  },
  notes: [
    'At its time every recipient of the source campaign with a matching message, not opted out and, for a ' +
      'marketing template, not held back by marketing fatigue (held), gets one ' +
      'message of the new campaign with the original custom_args; a worker process evaluates it. ' +
      'A {{name}} a message has no custom_args for is left empty (a warning names one the source seems not to ' +
      'have). Exit 1 for an unknown source campaign or rule, a rule that cannot be cancelled any more, and a rule ' +
      'refused because 1,000 are scheduled or evaluating.',
  ],
} as const satisfies Command;
