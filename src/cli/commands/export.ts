import { noCampaign } from '../../messages/ids.js';
import type { MessageRecord } from '../../ledger/ledger.js';
import { parse } from '../args.js';
import { withContext } from '../context.js';
import { EXPORT } from './export.decl.js';

export const CSV_COLUMNS = [
  'request_id',
  'campaign',
  'to',
  'status',
  'message_id',
  'error_code',
  'http_status',
  'reason',
  'error_message',
  'attempts',
  'updated_at',
];

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(r: MessageRecord): string {
  return [
    r.request_id,
    r.campaign,
    r.to,
    r.status,
    r.message_id,
    r.error?.code,
    r.error?.http_status,
    r.error?.reason,
    r.error?.message,
    r.attempts,
    r.updated_at,
  ]
    .map(csvCell)
    .join(',');
}

/** Every message of a campaign to stdout, one per line, streamed (backpressure respected). */
export async function run(argv: string[]): Promise<number> {
  const { values } = parse(EXPORT, argv);
  const { campaign, format } = values;
  return withContext(async (ctx) => {
    if (!(await ctx.ledger.campaign(campaign))) {
      process.stderr.write(`wa-bulk: ${noCampaign(campaign, '"wa-bulk campaigns"')}\n`);
      return 1;
    }
    const write = (line: string) =>
      process.stdout.write(`${line}\n`)
        ? Promise.resolve()
        : new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
    if (format === 'csv') await write(CSV_COLUMNS.join(','));
    for await (const record of ctx.ledger.export(campaign))
      await write(format === 'csv' ? csvLine(record) : JSON.stringify(record));
    return 0;
  });
}
