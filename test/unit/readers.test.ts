import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../../producers/csv-reader.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import type { SourceItem } from '../../producers/enqueue.js';
import { validateMessage } from '../../src/messages/validate.js';

async function all(iterable: AsyncIterable<SourceItem>): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
const stream = (text: string) => Readable.from([Buffer.from(text)]);

describe('JSONL reader', () => {
  it('numbers lines from 1, skips blank lines and reports broken JSON with its line', async () => {
    const items = await all(readJsonl(stream('\uFEFF{"a":1}\n\n  \nnot json\r\n{"b":2}')));
    expect(items).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 4, error: expect.stringMatching(/^not valid JSON/) },
      { line: 5, value: { b: 2 } },
    ]);
  });
});

describe('CSV reader', () => {
  it('builds template messages from the documented columns', async () => {
    const csv = [
      'to,request_id,body_1,body_2,header_document,header_filename,button_url_0,arg_order',
      '+447911123456,o-1,Ada,"12,50 EUR",https://example.com/i.pdf,invoice.pdf,ABC123,981',
    ].join('\n');
    const [item] = await all(readCsv(stream(csv), { template: 'order_update', language: 'en_GB' }));
    expect(item?.line).toBe(2);
    expect(item?.value).toEqual({
      to: '+447911123456',
      request_id: 'o-1',
      custom_args: { order: '981' },
      body: {
        type: 'template',
        template: {
          name: 'order_update',
          language: 'en_GB',
          components: [
            {
              type: 'header',
              parameters: [
                { type: 'document', document: { link: 'https://example.com/i.pdf', filename: 'invoice.pdf' } },
              ],
            },
            {
              type: 'body',
              parameters: [
                { type: 'text', text: 'Ada' },
                { type: 'text', text: '12,50 EUR' },
              ],
            },
            { type: 'button', sub_type: 'url', index: 0, parameters: [{ type: 'text', text: 'ABC123' }] },
          ],
        },
      },
    });
    expect(validateMessage(item?.value).ok).toBe(true);
  });

  it('fills {{column}} placeholders of a text campaign', async () => {
    const [item] = await all(readCsv(stream('to,name\n447911123456,Ada\n'), { text: 'Hello {{name}}!' }));
    expect(item?.value).toEqual({ to: '447911123456', body: { type: 'text', text: { body: 'Hello Ada!' } } });
  });

  it('rejects an unknown column instead of ignoring it', async () => {
    await expect(all(readCsv(stream('to,nmae\n447911123456,Ada\n'), { text: 'Hello {{name}}' }))).rejects.toThrow(
      '--text uses {{name}} but the CSV has no column "name"',
    );
    await expect(all(readCsv(stream('to,body_1,colour\n1,2,3\n'), { template: 't', language: 'en' }))).rejects.toThrow(
      'CSV: unknown column "colour"',
    );
  });

  it('refuses a header that names a column twice, or skips a body parameter', async () => {
    const template = { template: 'order_update', language: 'en' };
    await expect(
      all(readCsv(stream('to,request_id,body_1,body_1,body_2\n+447911123456,r,a,b,c\n'), template)),
    ).rejects.toThrow('CSV: the header has the column "body_1" twice');
    await expect(all(readCsv(stream('to,name,name\n+447911123456,a,b\n'), { text: 'Hi {{name}}' }))).rejects.toThrow(
      'CSV: the header has the column "name" twice',
    );
    await expect(all(readCsv(stream('to,body_1,body_3\n+447911123456,a,c\n'), template))).rejects.toThrow(
      'CSV: the header has body_3 but no body_2',
    );
  });

  it('reports a wrong --language or --template once, before reading any line', async () => {
    const csv = `to,body_1\n${Array.from({ length: 1000 }, (_, i) => `+4479111${String(i).padStart(5, '0')},Ada`).join('\n')}`;
    const read = async (options: { template: string; language: string }) => {
      const items: SourceItem[] = [];
      const error = await (async () => {
        for await (const item of readCsv(stream(csv), options)) items.push(item);
      })().catch((e: unknown) => e);
      return { items: items.length, error: (error as Error | undefined)?.message };
    };
    expect(await read({ template: 'order_update', language: 'en-US' })).toEqual({
      items: 0,
      error: '--language: "en-US" is not a WhatsApp template language code (e.g. en, en_US, zh_CN)',
    });
    expect(await read({ template: 'Order-Update', language: 'en_US' })).toEqual({
      items: 0,
      error: '--template: "Order-Update" must contain only lowercase letters, digits and "_"',
    });
  });

  it('says a header separated by ";" seems to use ";" as separator, not that it has no "to" column', async () => {
    await expect(
      all(readCsv(stream('to;body_1;body_2\n+447911123456;Ada;12,50\n'), { template: 'order_update', language: 'en' })),
    ).rejects.toThrow(
      'CSV: the header seems to use ";" as separator; wa-bulk reads comma-separated files (a header like "to,body_1,body_2")',
    );
  });

  it('reports a record it cannot read with its line, and keeps the others', async () => {
    const items = await all(readCsv(stream('to,name\n447911123456,Ada\n447911123457,"Bo\n'), { text: 'Hi {{name}}' }));
    expect(items).toEqual([
      { line: 2, value: { to: '447911123456', body: { type: 'text', text: { body: 'Hi Ada' } } } },
      { line: 3, error: expect.stringMatching(/^CSV: Quote Not Closed/) },
    ]);
  });

  it('reads the example campaign file', async () => {
    const path = fileURLToPath(new URL('../../examples/campaign.csv', import.meta.url));
    const items = await all(
      readCsv(stream(readFileSync(path, 'utf8')), { template: 'order_update', language: 'en_US' }),
    );
    expect(items.length).toBeGreaterThan(2);
    expect(items.every((i) => i.value !== undefined && validateMessage(i.value).ok)).toBe(true);
  });
});
