import { AuditLog } from '../../src/access/audit.js';
import { describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { enqueue } from '../../producers/enqueue.js';
import { readJsonl } from '../../producers/jsonl-reader.js';
import { campaignDone, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { BODIES, jsonl, phone } from '../fixtures/messages.js';

const stack = useStack();

async function enqueueTexts(harnessed: Harness, campaign: string, count: number) {
  const lines = jsonl(
    Array.from({ length: count }, (_, i) => ({ to: phone(i), body: BODIES.text, request_id: `${campaign}-${i}` })),
  );
  return enqueue(readJsonl(Readable.from([lines])), { campaign, ledger: harnessed.ledger, queue: harnessed.send });
}

describe('send policies', () => {
  it('rides out a provider outage without spending attempts: nothing dead, everything sent once, few requests', async () => {
    const { sim, h } = await stack.start({
      simulator: {},
      config: {
        SEND_ATTEMPTS: 2,
        RETRY_RETRIES: 1,
        WORKER_CONCURRENCY: 20,
        OUTAGE_THRESHOLD: 10,
        OUTAGE_COOLDOWN_MS: 200,
        OUTAGE_COOLDOWN_MAX_MS: 1000,
      },
    });
    let outage = true;
    let requestsDuringOutage = 0;
    sim.setOverride(() => {
      if (!outage) return undefined;
      requestsDuringOutage++;
      return 'html503';
    });
    await enqueueTexts(h, 'outage', 300);
    await stack.startWorker();
    await new Promise((r) => setTimeout(r, 3000));
    outage = false;
    await campaignDone(h.ledger, 'outage');

    expect(await h.ledger.campaign('outage')).toMatchObject({ total: 300, sent: 300, dead: 0 });
    expect(sim.getStats().duplicates).toBe(0);
    // Without the breaker every message would make SEND_ATTEMPTS × (RETRY_RETRIES + 1) = 4 requests.
    expect(requestsDuringOutage).toBeLessThan(100);
    expect(Number(await h.redis.hget(h.keys.breaker, 'opened'))).toBeGreaterThanOrEqual(2);
    // Each cool-down is in the audit log, said to be wa-bulk's own doing (newest first: the first is the last).
    const holds = await new AuditLog(h.redis, h.keys, 86_400_000).read({ actor: 'system:outage-breaker' });
    expect(holds.length).toBeGreaterThanOrEqual(2);
    expect(holds.at(-1)).toMatchObject({ action: 'sending.hold', outcome: 'ok', params: { cooldown_ms: 200 } });
  });

  it('makes every worker wait out a 429 without spending an attempt', async () => {
    const { sim, h } = await stack.start({
      simulator: { retryAfterSeconds: 1, recordArrivals: true },
      config: { SEND_ATTEMPTS: 1, RETRY_RETRIES: 0, WORKER_CONCURRENCY: 1, SEND_RATE_MAX: 50 },
    });
    let limited = 0;
    sim.setOverride((body) => (body?.request_id === 'slow-0' && limited++ < 1 ? 'rateLimit' : undefined));
    await enqueueTexts(h, 'slow', 5);
    await stack.startWorker();
    await campaignDone(h.ledger, 'slow');

    expect(await h.ledger.campaign('slow')).toMatchObject({ sent: 5, dead: 0 });
    expect(await h.ledger.get('slow-0')).toMatchObject({ status: 'sent', attempts: 2 });
    const [first, second] = sim.arrivals;
    expect((second as number) - (first as number)).toBeGreaterThanOrEqual(900);
  });

  it('with AMBIGUOUS_OUTCOME=resend sends a timed-out message again instead of dead-lettering it', async () => {
    const { sim, h } = await stack.start({
      simulator: { slowMs: 1500 },
      config: { HTTP_TIMEOUT_MS: 300, AMBIGUOUS_OUTCOME: 'resend' },
    });
    let slow = 0;
    sim.setOverride((body) => (body?.request_id === 'amb-0' && slow++ < 1 ? 'slow' : undefined));
    await enqueueTexts(h, 'amb', 3);
    await stack.startWorker();
    await campaignDone(h.ledger, 'amb');
    expect(await h.ledger.campaign('amb')).toMatchObject({ sent: 3, dead: 0 });
    // EngageLab accepted it twice: that is the price of "resend", and why it is not the default.
    expect(sim.acceptedByRequestId.get('amb-0')).toBe(2);
  });

  it('sends from WA_FROM unless the message names its own sender', async () => {
    const { sim, h } = await stack.start({ simulator: {}, config: { WA_FROM: '+44 7400 900001' } });
    const senders = new Map<string, unknown>();
    sim.setOverride((body) => {
      senders.set(String(body?.request_id), body?.from);
      return undefined;
    });
    const lines = jsonl([
      { to: phone(1), body: BODIES.text, request_id: 'from-default' },
      { to: phone(2), body: BODIES.text, request_id: 'from-own', from: '+8613800138000' },
    ]);
    await enqueue(readJsonl(Readable.from([lines])), { campaign: 'from', ledger: h.ledger, queue: h.send });
    await stack.startWorker();
    await campaignDone(h.ledger, 'from');
    expect(senders.get('from-default')).toBe('447400900001');
    expect(senders.get('from-own')).toBe('8613800138000');
  });
});
