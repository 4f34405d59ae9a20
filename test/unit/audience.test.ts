import { describe, expect, it } from '@jest/globals';
import { audienceLines } from '../../src/ledger/outcomes.js';
import type { MessageRecord } from '../../src/ledger/records.js';

async function lines(records: Array<Partial<MessageRecord>>): Promise<string[]> {
  const read = async function* () {
    for (const r of records) yield r as MessageRecord;
  };
  const out: string[] = [];
  for await (const line of audienceLines(read)) out.push(line);
  return out;
}

describe('export --format audience', () => {
  it("writes each recipient once, with the first of their messages' custom_args", async () => {
    expect(
      await lines([
        { to: '447400900001', custom_args: { order: 'A1' } },
        { to: '447400900002', custom_args: { order: 'B1', note: 'x, "y"' } },
        { to: '447400900001', custom_args: { order: 'A2' } },
        { to: '447400900003' },
      ]),
    ).toEqual(['to,arg_note,arg_order', '447400900001,,A1', '447400900002,"x, ""y""",B1', '447400900003,,']);
  });
});
