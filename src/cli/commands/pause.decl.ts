import type { Command } from '../declaration.js';

export const PAUSE = {
  name: 'pause',
  summary: 'stop sending: the whole fleet, one sending number, or one campaign',
  usage: ['[--sender NUMBER | --campaign ID] [--reason TEXT]'],
  flags: {
    sender: {
      type: 'string',
      value: 'NUMBER',
      help: 'only this sending number\'s lane ("default": EngageLab\'s default number)',
    },
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      help: 'only this campaign: its messages are parked, holding no lane',
    },
    reason: {
      type: 'string',
      value: 'TEXT',
      default: 'paused by an operator',
      help: 'shown by status, the dashboard and Bull Board',
    },
  },
  notes: [
    'Without --sender or --campaign every lane of every worker stops before its next request. ' +
      'Exit 1 for an unknown campaign.',
  ],
} as const satisfies Command;

export const RESUME = {
  name: 'resume',
  summary: 'restart sending: the whole fleet, one sending number, or one campaign',
  usage: ['[--sender NUMBER | --campaign ID]'],
  flags: {
    sender: { type: 'string', value: 'NUMBER', help: "only this sending number's lane" },
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      help: 'only this campaign: its parked messages go back to their queues',
    },
  },
  notes: [
    'A fleet resume also clears the outage breaker; a lane paused on its own stays paused. ' +
      'Exit 1 for an unknown campaign.',
  ],
} as const satisfies Command;
