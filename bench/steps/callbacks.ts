import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Ledger } from '../../src/ledger/ledger.js';
import { CALLBACK_QUEUE, openQueue } from '../../src/queue.js';
import { freePort } from '../../src/dev/redis-server.js';
import { env, fill, flushRedis, sleep, type BenchContext } from '../harness.js';

/**
 * Delivery callbacks at scale: `messages` messages recorded as sent, then three EngageLab-shaped status rows
 * each (sent, delivered, read) posted to one dashboard process in batches of 100 rows, `inFlight` posts at a
 * time, as fast as it answers. Prints the rows/s the dashboard applied (first post to an empty callback queue)
 * and the answer times. The rows arrive out of order across batches, as EngageLab's do.
 */

const BATCH_ROWS = 100;
const STATES = ['sent', 'delivered', 'read'] as const;

export async function callbacksStep(bench: BenchContext, messages: number, inFlight = 4) {
  const prefix = bench.nextPrefix();
  await fill(bench, prefix, messages);
  const client = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
  const ledger = new Ledger(client, prefix, 1);
  // Every message gets its message_id, as a worker records an accepted request.
  const ids = await client.lrange(ledger.keys.campaignIds('bench'), 0, -1);
  for (let i = 0; i < ids.length; i += 1000)
    await Promise.all(ids.slice(i, i + 1000).map((id) => ledger.markSent(id, 'bench', `mid-${id}`)));

  const port = await freePort();
  const dashboard = fork(fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)), ['dashboard'], {
    env: env(bench, { QUEUE_PREFIX: prefix, DASHBOARD_PORT: port, DASHBOARD_HOST: '127.0.0.1' }),
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const url = `http://127.0.0.1:${port}`;
  const queue = openQueue(client, prefix, CALLBACK_QUEUE);
  try {
    await waitUp(url);
    const itime = Math.floor(Date.now() / 1000);
    const batches: string[] = [];
    for (const state of STATES)
      for (let i = 0; i < ids.length; i += BATCH_ROWS) {
        const rows = ids.slice(i, i + BATCH_ROWS).map((id, j) => statusRow(id, state, itime, i + j));
        batches.push(JSON.stringify({ total: rows.length, rows }));
      }
    const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
    const answersMs: number[] = [];
    let next = 0;
    let refused = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < batches.length) {
          const body = batches[next++] as string;
          const t0 = performance.now();
          const status = await post(agent, `${url}/callbacks/engagelab`, body);
          answersMs.push(performance.now() - t0);
          if (status !== 200) refused++;
        }
      }),
    );
    const postedMs = performance.now() - started;
    for (;;) {
      const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) break;
      await sleep(20);
    }
    const appliedMs = performance.now() - started;
    agent.destroy();
    const rows = ids.length * STATES.length;
    const campaign = await ledger.campaign('bench');
    answersMs.sort((a, b) => a - b);
    const pct = (p: number) =>
      Number((answersMs[Math.min(answersMs.length - 1, Math.floor(answersMs.length * p))] ?? 0).toFixed(1));
    const section = {
      messages: ids.length,
      rows,
      batch_rows: BATCH_ROWS,
      posts_in_flight: inFlight,
      refused_posts: refused,
      rows_per_second_received: Math.round(rows / (postedMs / 1000)),
      rows_per_second_applied: Math.round(rows / (appliedMs / 1000)),
      answer_ms: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: pct(1) },
      read_at_end: campaign?.delivery.read ?? 0,
    };
    bench.log(
      `callbacks ${rows.toLocaleString('en-US')} status rows in batches of ${BATCH_ROWS}, ${inFlight} posts at a time, one dashboard: ` +
        `${section.rows_per_second_applied.toLocaleString('en-US')} rows/s applied (${section.rows_per_second_received.toLocaleString('en-US')} rows/s received); ` +
        `answers p50 ${section.answer_ms.p50} ms, p95 ${section.answer_ms.p95} ms, p99 ${section.answer_ms.p99} ms, max ${section.answer_ms.max} ms; ` +
        `${section.read_at_end} of ${ids.length} messages read${refused > 0 ? `; ${refused} posts refused` : ''}`,
    );
    return section;
  } finally {
    await queue.close();
    dashboard.kill('SIGTERM');
    await new Promise((resolve) => dashboard.once('exit', resolve));
    client.disconnect();
    await flushRedis(bench);
  }
}

/** A status row as EngageLab sends one (its "Message status callback" documentation). */
function statusRow(requestId: string, state: string, itime: number, i: number) {
  return {
    message_id: `mid-${requestId}`,
    from: '8613800138000',
    to: `4479${String(10_000_000 + i).padStart(8, '0')}`,
    server: 'whatsapp',
    channel: 'whatsapp',
    itime,
    custom_args: { order: i, wa_bulk_request_id: requestId },
    status: {
      message_status: state,
      error_code: 0,
      status_data: {
        msg_time: itime,
        channel_message_id: `wamid.${requestId}`,
        country_code: 'GB',
        pricing: { pricing_model: 'CBP', category: 'utility' },
      },
    },
  };
}

async function waitUp(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return;
    await sleep(100);
  }
  throw new Error('the dashboard did not start');
}

function post(agent: http.Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}
