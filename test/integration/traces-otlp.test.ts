import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { jsonl, phone } from '../fixtures/messages.js';
import { CLI, runCli } from '../helpers/cli.js';
import { campaignDone, envOf, tempFile, until } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { KIND, expectNothingPersonal, fromOtlpJson, messageTrace, type SpanRecord } from '../helpers/traces.js';

/**
 * Traces over the wire: `wa-bulk enqueue` and `wa-bulk worker` run as processes with the standard OTEL_*
 * variables pointing at a small OTLP/HTTP receiver (JSON, `OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) that
 * this test runs; the message's context crosses from one process to the other through Redis.
 */

interface Receiver {
  url: string;
  spans: SpanRecord[];
  paths: Set<string>;
  close(): Promise<void>;
}

/** POST /v1/traces as an OTLP collector answers it; the spans are kept. */
async function startReceiver(): Promise<Receiver> {
  const spans: SpanRecord[] = [];
  const paths = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.add(`${req.method} ${req.url} ${req.headers['content-type']}`);
      spans.push(...fromOtlpJson(JSON.parse(Buffer.concat(chunks).toString('utf8')) as never));
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const stack = useStack();

describe('traces over OTLP/HTTP', () => {
  it('reach a receiver from the enqueue and worker processes as one trace per message, with nothing personal', async () => {
    const receiver = await startReceiver();
    stack.defer(() => receiver.close());
    // The worker says when it has started (startCli waits for it).
    const { config, h } = await stack.start({ simulator: {}, config: { LOG_LEVEL: 'info' } });
    const env = {
      ...envOf(config),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Export every 100 ms rather than every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const list = Array.from({ length: 3 }, (_, i) => ({
      to: phone(i),
      body: { type: 'text', text: { body: `Private words for Ada, ${i}` } },
      request_id: `otlp-${i}`,
    }));
    const file = tempFile(jsonl(list));

    const enqueued = await runCli(['enqueue', file, '--campaign', 'otlp', '--json'], env);
    expect(enqueued.code).toBe(0);
    // The enqueue process has exited: what it made was sent before it did.
    const campaignSpan = receiver.spans.find((s) => s.name === 'enqueue');
    expect(campaignSpan?.resource).toMatchObject({ 'service.name': 'wa-bulk', 'wa_bulk.component': 'enqueue' });

    const worker = await stack.startCli(['worker'], env);
    await campaignDone(h.ledger, 'otlp');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await until(() => receiver.spans.filter((s) => s.name === 'settle send').length === 3);

    const all = receiver.spans;
    expect([...receiver.paths]).toEqual(['POST /v1/traces application/json']);
    for (const { request_id: id } of list) {
      const t = messageTrace(all, id);
      expect(t.create.resource['wa_bulk.component']).toBe('enqueue');
      expect(t.create.links.map((l) => l.spanId)).toEqual([campaignSpan?.spanId]);
      expect(t.attempts).toHaveLength(1);
      expect(t.attempts[0]?.resource).toMatchObject({ 'service.name': 'wa-bulk', 'wa_bulk.component': 'worker' });
      expect(t.grants).toHaveLength(1);
      expect(t.posts.map((p) => [p.kind, p.attributes['http.response.status_code']])).toEqual([[KIND.CLIENT, 200]]);
      expect(t.settles.map((s) => s.attributes['wa_bulk.status'])).toEqual(['sent']);
    }
    // The resource names no command line (which may carry numbers: `wa-bulk suppress add …`).
    expect(all.every((s) => !('process.command_args' in s.resource))).toBe(true);
    expectNothingPersonal(all, [...list.flatMap((m) => [m.to, m.body.text.body]), file]);
  });

  it('are exported when the OTEL_* variables are in .env, the environment winning over it', async () => {
    const receiver = await startReceiver();
    stack.defer(() => receiver.close());
    const { config } = await stack.start();
    const dir = mkdtempSync(join(tmpdir(), 'wa-bulk-otel-'));
    stack.defer(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, '.env'),
      [
        `OTEL_EXPORTER_OTLP_ENDPOINT=${receiver.url}`,
        'OTEL_EXPORTER_OTLP_PROTOCOL=http/json',
        'OTEL_SERVICE_NAME=from-dotenv',
        'OTEL_RESOURCE_ATTRIBUTES=deployment.environment=from-dotenv',
      ].join('\n'),
    );
    const file = tempFile(jsonl([{ to: phone(1), body: { type: 'text', text: { body: 'hi' } }, request_id: 'env-1' }]));
    // wa-bulk reads .env from its working directory; this one has only the environment's OTEL_SERVICE_NAME.
    const env = { ...envOf(config), OTEL_SERVICE_NAME: 'from-environment' };
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'enqueue', file, '--campaign', 'dotenv', '--json'], {
        cwd: dir,
        env,
        stdio: 'ignore',
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    expect(code).toBe(0);
    const campaignSpan = receiver.spans.find((s) => s.name === 'enqueue');
    expect(campaignSpan?.resource).toMatchObject({
      'service.name': 'from-environment',
      'deployment.environment': 'from-dotenv',
      'wa_bulk.component': 'enqueue',
    });
  });
});
