import { noMessage, requestId as checkRequestId } from '../../messages/ids.js';
import type { MessageRecord } from '../../ledger/ledger.js';
import { UsageError, parse } from '../args.js';
import { printJson, withContext } from '../context.js';
import { synopsis } from '../usage.js';
import { RESULT } from './result.decl.js';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parse(RESULT, argv);
  if (!positionals[0] || positionals.length > 1) throw new UsageError(synopsis(RESULT));
  const requestId = checkRequestId(positionals[0], 'REQUEST_ID');
  const record = await withContext((ctx) => ctx.ledger.get(requestId));
  if (!record) {
    process.stderr.write(`wa-bulk: ${noMessage(requestId)}\n`);
    return 1;
  }
  if (values.json) printJson(record);
  else process.stdout.write(describe(record));
  return 0;
}

export function describe(r: MessageRecord): string {
  const lines = [
    `request_id  ${r.request_id}`,
    `campaign    ${r.campaign}`,
    `to          ${r.to}`,
    `status      ${r.status}`,
    ...(r.message_id ? [`message_id  ${r.message_id}`] : []),
    ...(r.error
      ? [
          `error       ${r.error.reason}: ${r.error.code ?? '-'} (HTTP ${r.error.http_status ?? '-'}) ${r.error.message}`,
        ]
      : []),
    ...(r.delivery || r.status === 'sent' ? [`delivery    ${delivery(r)}`] : []),
    `attempts    ${r.attempts}`,
    `updated_at  ${r.updated_at}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** A sent message's delivery state: from EngageLab's status callbacks, none before the first. */
function delivery(r: MessageRecord): string {
  const d = r.delivery;
  if (!d) return 'no delivery report yet';
  return `${d.status} at ${d.at}${d.error_code === null ? '' : ` (error code ${d.error_code})`}`;
}
