import { describe, expect, it } from '@jest/globals';
import { Campaigns } from '../../src/campaigns/campaigns.js';
import { Writable } from 'node:stream';
import { ensureGroup, entryOf, startFeedTrimmer, trimFeed, type RawEntry } from '../../src/events/feed.js';
import { createLogger } from '../../src/log.js';
import { pauseSending, resumeSending } from '../../src/lanes/fleet.js';
import { pauseLane, resumeLane } from '../../src/lanes/lanes.js';
import { Suppressions } from '../../src/recipients/suppressions.js';
import { addPending, until, type Harness } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack();

const entries = async (k: Harness): Promise<Array<{ kind: string; subject: string; status?: string }>> =>
  ((await k.redis.xrange(k.keys.archive, '-', '+')) as RawEntry[]).map((raw) => {
    const entry = entryOf(raw)!;
    const data = JSON.parse(entry.data) as string[] | object;
    const status = Array.isArray(data) ? data[data.indexOf('status') + 1] : undefined;
    return { kind: entry.kind, subject: entry.subject, ...(status !== undefined && { status }) };
  });

const delivery = (status: 'delivered' | 'read' | 'failed') => ({
  status,
  at: Date.now(),
  errorCode: status === 'failed' ? 131026 : null,
  error: status === 'failed' ? 'undeliverable' : null,
  lossStep: null,
  lossSource: null,
});

describe('the change feed', () => {
  it('is not written while nothing reads it', async () => {
    const { h } = await stack.start();
    await addPending(h, 'c', ['a']);
    await h.ledger.markSent('a', 'c', 'mid-a');
    await new Campaigns(h.redis, h.keys).pause('c', 'operator');
    expect(await h.redis.exists(h.keys.archive)).toBe(0);
  });

  it('holds every change of the ledger and every state change, with the change, once a group reads it', async () => {
    const { h } = await stack.start();
    await ensureGroup(h.redis, h.keys.archive, 'readers');
    await addPending(h, 'c', ['a', 'b', 'd']);
    await h.ledger.markSent('a', 'c', 'mid-a');
    await h.ledger.markDead('b', 'c', { code: 4001, http_status: 400, reason: 'permanent', message: 'no template' });
    await h.ledger.markSkipped('d', 'c', 'no_session');
    await h.ledger.applyDelivery({ requestId: 'a', campaign: 'c' }, delivery('delivered'));
    await h.ledger.applyDelivery({ requestId: 'a', campaign: 'c' }, delivery('read'));
    // Not further than read: no change, no entry.
    await h.ledger.applyDelivery({ requestId: 'a', campaign: 'c' }, delivery('delivered'));
    const campaigns = new Campaigns(h.redis, h.keys);
    await campaigns.pause('c', 'operator');
    await campaigns.resume('c');
    await pauseSending(h.redis, h.keys, 'insufficient balance');
    await resumeSending(h.redis, h.keys);
    await pauseLane(h.redis, h.keys, '447700900001', 'quality', 'cli:ops');
    await resumeLane(h.redis, h.keys, '447700900001', 'cli:ops');
    const suppressions = new Suppressions(h.redis, h.keys);
    await suppressions.add(['447700900002'], 'cli:ops');
    // An import is not one opt-out at a time: no events.
    await suppressions.add(['447700900003']);
    await h.ledger.revive('b', 'c');
    expect(await entries(h)).toEqual([
      { kind: 'campaign.started', subject: 'c' },
      { kind: 'sent', subject: 'a', status: 'sent' },
      { kind: 'dead', subject: 'b', status: 'dead' },
      { kind: 'skipped', subject: 'd', status: 'skipped' },
      { kind: 'delivered', subject: 'a', status: 'sent' },
      { kind: 'read', subject: 'a', status: 'sent' },
      { kind: 'campaign.paused', subject: 'c' },
      { kind: 'campaign.resumed', subject: 'c' },
      { kind: 'sending.paused', subject: '' },
      { kind: 'sending.resumed', subject: '' },
      { kind: 'sending.paused', subject: '447700900001' },
      { kind: 'sending.resumed', subject: '447700900001' },
      { kind: 'contact.opted_out', subject: '447700900002' },
      { kind: 'revived', subject: 'b', status: 'pending' },
    ]);
  });

  it('drops what every group has acknowledged, keeps what one still needs, and holds its cap', async () => {
    const { h } = await stack.start();
    const stream = h.keys.archive;
    await ensureGroup(h.redis, stream, 'fast');
    await ensureGroup(h.redis, stream, 'slow');
    for (let i = 0; i < 10; i++) await h.redis.xadd(stream, '*', 'e', 'sending.resumed', 'r', '', 's', '{}');
    const read = async (group: string, count: number) => {
      const reply = (await h.redis.xreadgroup('GROUP', group, 'c', 'COUNT', count, 'STREAMS', stream, '>')) as Array<
        [string, RawEntry[]]
      >;
      const ids = (reply[0]?.[1] ?? []).map(([id]) => id);
      return ids;
    };
    await h.redis.xack(stream, 'fast', ...(await read('fast', 10)));
    // slow read 6 and acknowledged 4: the oldest it still needs is its 5th.
    const slow = await read('slow', 6);
    await h.redis.xack(stream, 'slow', ...slow.slice(0, 4));
    expect(await trimFeed(h.redis, stream, 1000)).toEqual({ trimmed: 4, capped: 0, lostBy: [] });
    expect(((await h.redis.xrange(stream, '-', '+', 'COUNT', 1)) as RawEntry[])[0]?.[0]).toBe(slow[4]);

    // Past the cap the oldest go, read or not, and the groups that lose some are named.
    for (let i = 0; i < 3000; i++) await h.redis.xadd(stream, '*', 'e', 'sending.resumed', 'r', '', 's', '{}');
    const { capped, lostBy } = await trimFeed(h.redis, stream, 1000);
    expect(capped).toBeGreaterThan(0);
    expect(lostBy.sort()).toEqual(['fast', 'slow']);
    expect(await h.redis.xlen(stream)).toBeLessThan(1200);
  });

  it('is held to its cap by a writing process while no reader runs, with a line', async () => {
    const { h } = await stack.start();
    const stream = h.keys.archive;
    await ensureGroup(h.redis, stream, 'webhooks');
    for (let i = 0; i < 3000; i++) await h.redis.xadd(stream, '*', 'e', 'sending.resumed', 'r', '', 's', '{}');
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      pretty: false,
      destination: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      }),
    });
    const trimmer = startFeedTrimmer(h.redis, stream, 1000, log, 20);
    try {
      await until(async () => (await h.redis.xlen(stream)) < 1200);
    } finally {
      trimmer.stop();
    }
    await until(() => lines.length > 0);
    expect(lines[0]).toContain('FEED_MAX_ENTRIES reached');
    expect(lines[0]).toContain('"groups":["webhooks"]');
  });
});
