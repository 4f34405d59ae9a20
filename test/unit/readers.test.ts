import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../../producers/csv-reader.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { MAX_LINE_BYTES } from '../../producers/lines.js';
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

describe('reading bytes', () => {
  const latin1 = Buffer.from('to,name\n+447911123456,Jos\xe9\n+447911123457,Ann\n', 'latin1');
  const utf16 = (bom: boolean) =>
    Buffer.concat([Buffer.from(bom ? [0xff, 0xfe] : []), Buffer.from('to,name\n+447911123456,Ann\n', 'utf16le')]);

  it('rejects a line that is not UTF-8 by number instead of mangling it, and reads the others', async () => {
    const csv = await all(readCsv(Readable.from([latin1]), { text: 'Hi {{name}}' }));
    expect(csv).toEqual([
      { line: 2, error: 'not valid UTF-8 (save the file as UTF-8)' },
      { line: 3, value: { to: '+447911123457', body: { type: 'text', text: { body: 'Hi Ann' } } } },
    ]);
    const jsonl = Buffer.concat([
      Buffer.from('{"a":"Jos'),
      Buffer.from([0xe9]),
      Buffer.from('"}\n{"a":"Jos\u00e9"}\n'),
    ]);
    expect(await all(readJsonl(Readable.from([jsonl])))).toEqual([
      { line: 1, error: 'not valid UTF-8 (save the file as UTF-8)' },
      { line: 2, value: { a: 'José' } },
    ]);
  });

  it('refuses a UTF-16 input as a whole, naming its encoding, with or without a byte-order mark', async () => {
    for (const bom of [true, false]) {
      await expect(all(readCsv(Readable.from([utf16(bom)]), { text: 'Hi {{name}}' }))).rejects.toThrow(
        'the input is UTF-16LE, not UTF-8',
      );
      await expect(all(readJsonl(Readable.from([utf16(bom)])))).rejects.toThrow('the input is UTF-16LE, not UTF-8');
    }
  });

  it('rejects a line just over the limit by number, without holding it, and reads the next line', async () => {
    const huge = 'x'.repeat(MAX_LINE_BYTES + 1);
    // In small chunks, as a file is read: the line is never whole in memory.
    const chunks = (text: string) => {
      const bytes = Buffer.from(text);
      const size = 65_536;
      return Readable.from(
        Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size)),
      );
    };
    const jsonl = await all(readJsonl(chunks(`{"a":1}\n{"a":"${huge}"}\n{"a":3}\n`)));
    expect(jsonl).toEqual([
      { line: 1, value: { a: 1 } },
      { line: 2, error: 'longer than 1,000,000 bytes, the most one line may hold' },
      { line: 3, value: { a: 3 } },
    ]);
    const csv = await all(readCsv(chunks(`to,name\n+447911123456,${huge}\n+447911123457,Ann\n`), { text: '{{name}}' }));
    expect(csv.map((i) => [i.line, i.error ?? (i.value as { to: string }).to])).toEqual([
      [2, 'longer than 1,000,000 bytes, the most one line may hold'],
      [3, '+447911123457'],
    ]);
    // A quoted field that runs over the limit across lines is refused the same way, at the line it opened on.
    const lines = Array.from({ length: 40 }, () => 'y'.repeat(30_000)).join('\n');
    const open = await all(
      readCsv(chunks(`to,name\n+447911123456,"${lines}\n+447911123457,Ann\n`), { text: '{{name}}' }),
    );
    expect(open[0]).toEqual({ line: 2, error: expect.stringContaining('is not closed within 1,000,000 bytes') });
    expect(open.at(-1)).toEqual({
      line: 42,
      value: { to: '+447911123457', body: { type: 'text', text: { body: 'Ann' } } },
    });
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
      { line: 3, error: expect.stringMatching(/^CSV: the quote opened on this line is not closed before the end/) },
    ]);
  });

  it('names the line where an unclosed quote opened, and reads the lines after it on their own', async () => {
    const csv = 'to,name\n+447911123460,"Ann\n+447911123461,Bob\n+447911123462,Cy\n+447911123463,Di\n';
    const items = await all(readCsv(stream(csv), { text: 'Hi {{name}}' }));
    expect(items.map((i) => [i.line, i.error ?? (i.value as { to: string }).to])).toEqual([
      [
        2,
        'CSV: the quote opened on this line is not closed before the end of the input (the lines after it are read on their own)',
      ],
      [3, '+447911123461'],
      [4, '+447911123462'],
      [5, '+447911123463'],
    ]);
  });

  it('keeps quoted fields over several lines, and rejects a badly quoted line without losing the next', async () => {
    const csv = [
      'to,name',
      '+447911123460,"Ann',
      'Lee"',
      '+447911123461,Bo"b',
      '+447911123462,"Cy"x',
      '+447911123463, "Di ""D"" " ',
    ].join('\n');
    const items = await all(readCsv(stream(csv), { text: 'Hi {{name}}' }));
    expect(items).toEqual([
      { line: 2, value: { to: '+447911123460', body: { type: 'text', text: { body: 'Hi Ann\nLee' } } } },
      { line: 4, error: expect.stringMatching(/^CSV: a quote inside an unquoted field/) },
      { line: 5, error: 'CSV: "x" after a closing quote (a quoted field ends at its quote, then a comma)' },
      { line: 6, value: { to: '+447911123463', body: { type: 'text', text: { body: 'Hi Di "D" ' } } } },
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
