import { afterEach, describe, expect, it } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { envOf, harness, tempFile, testConfig, type Harness } from '../helpers/env.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

/** `wa-bulk remove` as its campaign and the audit log see it. */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a removed message', () => {
  it('is counted skipped by reason removed, and the command is in the audit log with its request_id', async () => {
    const config = testConfig();
    h = harness(config);
    const env = envOf(config);
    const lines = ['rc-0', 'rc-1', 'rc-2'].map((id, i) => ({ to: phone(i), body: BODIES.otp, request_id: id }));
    expect((await runCli(['enqueue', tempFile(jsonl(lines)), '--campaign', 'rc'], env)).code).toBe(0);

    expect((await runCli(['remove', 'rc-1'], env)).code).toBe(0);
    expect((await runCli(['remove', 'rc-1'], env)).code).toBe(1);
    const counts = await h.ledger.campaign('rc');
    expect(counts).toMatchObject({ total: 3, skipped: 1, pending: 2 });
    expect(counts?.skipped_by.removed).toBe(1);
    const status = await runCli(['status', '--campaign', 'rc'], env);
    expect(status.stdout).toMatch(/skipped[^\n]*removed 1/);

    const entries = (await runCli(['audit', '--json'], env)).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; target: string | null; outcome: string; actor: string });
    expect(entries.filter((e) => e.action === 'message.remove').map((e) => [e.target, e.outcome])).toEqual([
      ['rc-1', 'ok'],
      ['rc-1', 'exit 1'],
    ]);
    expect(entries.every((e) => e.actor.startsWith('cli:'))).toBe(true);
  });
});
