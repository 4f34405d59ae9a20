import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config.js';
import { WebhookEndpoints } from '../../src/events/endpoints.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { createLogger } from '../../src/log.js';
import { keys } from '../../src/redis/keys.js';
import { WebhookDispatcher } from '../../workers/webhook-dispatcher.js';
import { env, fill, flushRedis, redisInfo, sleep, type BenchContext } from '../harness.js';

/**
 * Webhooks at scale. `messages` messages are recorded as sent, then delivered, then read (three ledger
 * changes each, as at WhatsApp's pace one number's messages make), once with no webhook endpoint (the change
 * feed is not written) and then with one (it is): the difference in Redis's CPU time is the feed's cost per
 * event, and the stream's memory per entry its size. Then a dispatcher delivers those events to a local
 * receiver that answers 204 at once: one event a request, then batches of 100. Last, the same receiver takes only
 * `message.read` beside an endpoint that takes every event and answers after SLOW_MS: its read events come after
 * the slow endpoint's backlog of sent and delivered ones, so the rate it gets says whether it waits for the slow
 * one. Prints events/s delivered.
 */

const BATCH = 100;
const SLOW_MS = 200;

export async function webhooksStep(bench: BenchContext, messages: number) {
  bench.log(`webhooks  ${messages.toLocaleString('en-US')} messages, 3 changes each (sent, delivered, read)`);
  const receiver = await startReceiver();
  const slow = await startReceiver(SLOW_MS);
  try {
    const off = await ledgerWork(bench, messages, undefined);
    await flushRedis(bench);
    const single = await ledgerWork(bench, messages, { url: receiver.url, batch: 1 });
    const singleRate = await deliver(bench, single.prefix, receiver, single.events);
    await flushRedis(bench);
    const batched = await ledgerWork(bench, messages, { url: receiver.url, batch: BATCH });
    const batchedRate = await deliver(bench, batched.prefix, receiver, batched.events);
    await flushRedis(bench);
    const beside = await ledgerWork(bench, messages, { url: receiver.url, batch: 1, events: ['message.read'] }, slow);
    const besideRate = await deliver(bench, beside.prefix, receiver, messages, slow);
    await flushRedis(bench);
    const onCpu = (single.cpuSeconds + batched.cpuSeconds) / 2;
    const section = {
      messages,
      events: single.events,
      redis_cpu_us_per_message_without_feed: Number(((off.cpuSeconds / messages) * 1e6).toFixed(1)),
      redis_cpu_us_per_message_with_feed: Number(((onCpu / messages) * 1e6).toFixed(1)),
      redis_cpu_us_per_event: Number((((onCpu - off.cpuSeconds) / single.events) * 1e6).toFixed(1)),
      feed_bytes_per_entry: single.bytesPerEntry,
      events_per_second_one_a_request: singleRate.eventsPerSecond,
      requests_per_second_one_a_request: singleRate.requestsPerSecond,
      events_per_second_batched: batchedRate.eventsPerSecond,
      requests_per_second_batched: batchedRate.requestsPerSecond,
      batch: BATCH,
      events_per_second_beside_slow_endpoint: besideRate.eventsPerSecond,
      slow_endpoint_events_meanwhile: besideRate.slowEvents,
      slow_endpoint_ms: SLOW_MS,
    };
    bench.log(
      `  Redis CPU per message: ${section.redis_cpu_us_per_message_without_feed} µs without an endpoint, ${section.redis_cpu_us_per_message_with_feed} µs with one ` +
        `(${section.redis_cpu_us_per_event} µs an event); the feed holds ${section.feed_bytes_per_entry} bytes an entry until read`,
    );
    bench.log(
      `  delivered to a local receiver: ${section.events_per_second_one_a_request.toLocaleString('en-US')} events/s one a request, ` +
        `${section.events_per_second_batched.toLocaleString('en-US')} events/s in batches of ${BATCH} (${section.requests_per_second_batched.toLocaleString('en-US')} requests/s)`,
    );
    bench.log(
      `  beside an endpoint answering after ${SLOW_MS} ms: ${section.events_per_second_beside_slow_endpoint.toLocaleString('en-US')} events/s ` +
        `(message.read only, after the slow one's backlog), while the slow one took ${section.slow_endpoint_events_meanwhile.toLocaleString('en-US')}`,
    );
    return section;
  } finally {
    await receiver.close();
    await slow.close();
  }
}

/**
 * The ledger's changes for `count` messages (with an endpoint: the feed written; `slow`: a second endpoint,
 * taking every event); Redis CPU time they took.
 */
async function ledgerWork(
  bench: BenchContext,
  count: number,
  endpoint: { url: string; batch: number; events?: string[] } | undefined,
  slow?: Receiver,
) {
  const prefix = bench.nextPrefix();
  await fill(bench, prefix, count);
  const client = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
  const ledger = new Ledger(client, prefix, 1);
  const k = keys(prefix);
  try {
    if (endpoint) await new WebhookEndpoints(client, k).add(endpoint);
    if (slow) await new WebhookEndpoints(client, k).add({ url: slow.url });
    const ids = await client.lrange(k.campaignIds('bench'), 0, -1);
    const before = await redisInfo(bench);
    for (let i = 0; i < ids.length; i += 1000)
      await Promise.all(ids.slice(i, i + 1000).map((id) => ledger.markSent(id, 'bench', `mid-${id}`)));
    for (const status of ['delivered', 'read'] as const)
      for (let i = 0; i < ids.length; i += 1000)
        await Promise.all(
          ids
            .slice(i, i + 1000)
            .map((id) =>
              ledger.applyDelivery(
                { requestId: id, campaign: 'bench' },
                { status, at: Date.now(), errorCode: null, error: null, lossStep: null, lossSource: null },
              ),
            ),
        );
    const after = await redisInfo(bench);
    const entries = endpoint ? await client.xlen(k.archive) : 0;
    const bytes = endpoint ? Number(await client.memory('USAGE', k.archive, 'SAMPLES', 0)) : 0;
    return {
      prefix,
      cpuSeconds: after.cpu - before.cpu,
      // Every change but campaign.started is a message's.
      events: Math.max(0, entries),
      bytesPerEntry: entries > 0 ? Math.round(bytes / entries) : 0,
    };
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a dispatcher on the prefix; resolves with the rate once the receiver has `events` events (and what
 * `slow` had by then).
 */
async function deliver(bench: BenchContext, prefix: string, receiver: Receiver, events: number, slow?: Receiver) {
  const config = loadConfig({
    env: env(bench, { QUEUE_PREFIX: prefix, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BATCH_LINGER_MS: 50 }),
    dotEnvPath: false,
  });
  const client = new Redis(bench.redisUrl, { maxRetriesPerRequest: null });
  receiver.reset();
  slow?.reset();
  const dispatcher = new WebhookDispatcher(
    client,
    client.duplicate(),
    keys(prefix),
    config,
    createLogger({ level: 'warn', pretty: false }),
  );
  const started = performance.now();
  dispatcher.start();
  try {
    while (receiver.events < events) await sleep(10);
    const seconds = (performance.now() - started) / 1000;
    return {
      eventsPerSecond: Math.round(events / seconds),
      requestsPerSecond: Math.round(receiver.requests / seconds),
      slowEvents: slow?.events ?? 0,
    };
  } finally {
    await dispatcher.stop();
    client.disconnect();
  }
}

interface Receiver {
  url: string;
  events: number;
  requests: number;
  reset(): void;
  close(): Promise<void>;
}

/** Answers 204 to every request (at once, or after `delayMs`), counting requests and the events in them. */
async function startReceiver(delayMs = 0): Promise<Receiver> {
  const state = { events: 0, requests: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: unknown };
      state.requests++;
      state.events += body.type === 'batch' ? (body.data as unknown[]).length : 1;
      if (delayMs === 0) res.writeHead(204).end();
      else setTimeout(() => res.writeHead(204).end(), delayMs);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    get events() {
      return state.events;
    },
    get requests() {
      return state.requests;
    },
    reset() {
      state.events = 0;
      state.requests = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
