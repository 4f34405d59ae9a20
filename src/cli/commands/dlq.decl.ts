import { DEAD_REASONS } from '../../ledger/reasons.js';
import type { Command } from '../declaration.js';

export const DLQ = {
  name: 'dlq',
  summary: 'list, replay or purge dead letters',
  usage: ['list|replay|purge [--campaign ID] [--code N] [--reason R] [--json]'],
  args: [
    { name: 'list', help: "the matching dead letters, with EngageLab's code and message" },
    {
      name: 'replay',
      help:
        'send them again under their request_id; unknown_outcome ones (which EngageLab may have accepted) ' +
        'only with --reason unknown_outcome; never one the ledger has as sent (its dead letter is dropped)',
    },
    { name: 'purge', help: 'drop them from the dead-letter queue (the ledger keeps their record)' },
  ],
  flags: {
    campaign: {
      type: 'string',
      value: 'ID',
      campaignId: true,
      help: "only this campaign's",
    },
    code: { type: 'int', value: 'N', help: 'only those with this EngageLab code' },
    reason: {
      type: 'choice',
      value: 'R',
      choices: DEAD_REASONS,
      help: `only those with this reason: ${DEAD_REASONS.join(', ')}`,
    },
    json: { type: 'boolean', help: 'print JSON: one dead letter a line for list, the counts for replay and purge' },
  },
  notes: [
    'A job of the dead-letter queue that wa-bulk did not write (added by hand or by another tool) is skipped ' +
      'with one line on stderr naming its job id, and the others are handled; purge without filters drops it.',
  ],
} as const satisfies Command;
