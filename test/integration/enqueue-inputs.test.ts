import { describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { runCli } from '../helpers/cli.js';
import { startDashboard } from '../helpers/contract.js';
import { envOf, tempFile } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { jsonl } from '../fixtures/messages.js';

/**
 * What `wa-bulk enqueue` (and the HTTP producer, through the same core) makes of input that is not what it
 * seems: a request_id reused for another message, bytes that are not UTF-8, a quote never closed.
 */

const stack = useStack();
const text = (body: string) => ({ type: 'text', text: { body } });

describe('a reused request_id', () => {
  it('is a quiet duplicate for the same message, and a rejected line for another one', async () => {
    const { config, h } = await stack.start();
    const env = envOf(config);
    const first = tempFile(jsonl([{ to: '+447911123456', body: text('hello'), request_id: 'j-1' }]));
    expect((await runCli(['enqueue', first, '--campaign', 'c1'], env)).code).toBe(0);

    // The same file again: nothing new, nothing wrong.
    const again = await runCli(['enqueue', first, '--campaign', 'c1', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      accepted: 0,
      rejected: 0,
      duplicates: 1,
      duplicate_lines: [{ line: 1, request_id: 'j-1' }],
    });

    const lines = [
      { to: '+447911123470', body: text('totally different'), request_id: 'j-1' },
      { to: '+447911123471', body: text('one'), request_id: 'k-1' },
      { to: '+447911123472', body: text('one'), request_id: 'k-1' },
      { to: '+447911123471', body: text('one'), request_id: 'k-1' },
      { to: '+447911123471', body: text('two'), request_id: 'k-1' },
      { to: '+447911123456', body: text('hello'), request_id: 'j-1' },
    ];
    const res = await runCli(['enqueue', tempFile(jsonl(lines)), '--campaign', 'c2', '--json'], env);
    expect(res.code).toBe(1);
    const used = (id: string, what: string) =>
      `request_id "${id}" is already used by another message (${what}); give this one a request_id of its own`;
    expect(JSON.parse(res.stdout)).toEqual({
      campaign: 'c2',
      accepted: 1,
      rejected: 4,
      duplicates: 1,
      duplicate_lines: [{ line: 4, request_id: 'k-1' }],
      suppressed: 0,
      rejects: [
        { line: 1, error: used('j-1', 'campaign c1, to another recipient') },
        { line: 3, error: used('k-1', 'campaign c2, to another recipient') },
        { line: 5, error: used('k-1', 'campaign c2, with other content') },
        { line: 6, error: used('j-1', 'campaign c1') },
      ],
      warnings: [],
    });
    // The stored messages are left as they were; the rejected lines are kept with the campaign.
    expect(await h.ledger.get('j-1')).toMatchObject({ campaign: 'c1', to: '447911123456', status: 'pending' });
    expect(await h.ledger.get('k-1')).toMatchObject({ campaign: 'c2', to: '447911123471' });
    expect(await h.send.getWaitingCount()).toBe(2);
    const rejected = await runCli(['export', '--campaign', 'c2', '--rejected'], env);
    expect(rejected.stdout).toContain('"line":1');
    expect(rejected.stdout).toContain('campaign c1, to another recipient');

    // Without --json the reject is a line on stderr, by number.
    const text2 = await runCli(['enqueue', tempFile(jsonl(lines.slice(0, 1))), '--campaign', 'c2'], env);
    expect(text2.code).toBe(1);
    expect(text2.stderr).toContain(`line 1: ${used('j-1', 'campaign c1, to another recipient')}`);
  });

  it('is rejected the same way in the HTTP API answer', async () => {
    const { config } = await stack.start({ config: { DASHBOARD_PORT: 0 } });
    const dashboard = await stack.startDashboard(config, startDashboard);
    const post = (campaign: string, body: unknown[]) =>
      fetch(`${dashboard.url}/api/campaigns/${campaign}/messages?preflight=false`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const message = { to: '+447911123456', body: text('hello'), request_id: 'h-1' };
    expect((await post('h1', [message])).status).toBe(200);
    const res = await post('h2', [message, { ...message, request_id: 'h-2' }, { ...message, request_id: 'h-2' }]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      accepted: 1,
      rejected: 1,
      duplicates: 1,
      duplicate_lines: [{ line: 3, request_id: 'h-2' }],
      rejects: [
        { line: 1, error: expect.stringContaining('request_id "h-1" is already used by another message (campaign h1') },
      ],
    });
  });
});

describe('bytes and quotes', () => {
  it('rejects a Latin-1 line by number and enqueues the others; refuses a UTF-16 file, naming it', async () => {
    const { config, h } = await stack.start();
    const env = envOf(config);
    const latin1 = tempFile('', 'latin1.csv');
    writeFileSync(latin1, Buffer.from('to,name\n+447911123460,Jos\xe9\n+447911123461,Bob\n', 'latin1'));
    const res = await runCli(['enqueue', latin1, '--campaign', 'l1', '--text', 'Hi {{name}}'], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('campaign l1: enqueued 1, rejected 1, duplicates 0\n');
    expect(res.stderr).toContain('line 2: not valid UTF-8 (save the file as UTF-8)');
    expect(await h.send.getWaitingCount()).toBe(1);

    const utf16 = tempFile('', 'utf16.csv');
    writeFileSync(
      utf16,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('to,name\n+447911123462,Ann\n', 'utf16le')]),
    );
    const wide = await runCli(['enqueue', utf16, '--campaign', 'w1', '--text', 'Hi {{name}}'], env);
    expect(wide.code).toBe(2);
    expect(wide.stderr).toContain('the input is UTF-16LE, not UTF-8');
    expect(await h.ledger.campaign('w1')).toBeUndefined();
  });

  it('names the line an unclosed quote opened on and still enqueues the lines after it', async () => {
    const { config } = await stack.start();
    const csv = tempFile(
      'to,name\n+447911123460,"Ann\n+447911123461,Bob\n+447911123462,Cy\n+447911123463,Di\n',
      'q3.csv',
    );
    const res = await runCli(['enqueue', csv, '--campaign', 'q3', '--text', 'Hi {{name}}', '--dry-run'], envOf(config));
    expect(res.stdout).toBe('campaign q3: would enqueue 3, rejected 1, duplicates 0\n');
    expect(res.stderr).toContain(
      'line 2: CSV: the quote opened on this line is not closed before the end of the input',
    );
  });
});
