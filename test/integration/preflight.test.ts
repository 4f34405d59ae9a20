import { describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TemplateInfo } from '../../src/engagelab/client.js';
import { runCli } from '../helpers/cli.js';
import { envOf, tempFile } from '../helpers/env.js';
import { useStack } from '../helpers/stack.js';
import { jsonl, phone } from '../fixtures/messages.js';

/** Preflight against real HTTP servers: a media host of our own, and the simulator's Template API. */

const stack = useStack();

/** A media host: each path answers as its name says; requests are counted by method and path. */
async function mediaHost(): Promise<{ url: string; hits: Map<string, number> }> {
  const hits = new Map<string, number>();
  const media = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(`${req.method} ${path}`, (hits.get(`${req.method} ${path}`) ?? 0) + 1);
    const file = (type: string, bytes: number) => {
      if (req.method === 'HEAD') res.writeHead(200, { 'Content-Type': type, 'Content-Length': bytes }).end();
      else
        res
          .writeHead(206, { 'Content-Type': type, 'Content-Range': `bytes 0-0/${bytes}`, 'Content-Length': 1 })
          .end('x');
    };
    if (path === '/ok.png') return file('image/png', 1000);
    if (path === '/big.png') return file('image/png', 6 * 1024 * 1024);
    if (path === '/letter.docx')
      return file('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 20_000);
    if (path === '/offer.pdf') return file('application/pdf', 20_000);
    if (path === '/moved.png') return void res.writeHead(302, { Location: '/ok.png' }).end();
    if (path.startsWith('/loop'))
      return void res.writeHead(302, { Location: `/loop${Number(path.slice(5) || 0) + 1}` }).end();
    if (path === '/nohead.png') {
      if (req.method === 'HEAD') return void res.writeHead(405).end();
      return file('image/png', 2000);
    }
    if (path === '/slow.png') return; // never answers
    res.writeHead(404).end('not found');
  });
  stack.defer(() => {
    media.closeAllConnections();
    media.close();
  });
  await new Promise<void>((resolve) => media.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(media.address() as AddressInfo).port}`, hits };
}

const image = (i: number, link: string) => ({ to: phone(i), body: { type: 'image', image: { link } } });
const header = (i: number, document: string) => ({
  to: phone(i),
  body: {
    type: 'template',
    template: {
      name: 'invoice',
      language: 'en',
      components: [{ type: 'header', parameters: [{ type: 'document', document: { link: document } }] }],
    },
  },
});

async function check(lines: unknown[], env: NodeJS.ProcessEnv, extra: string[] = []) {
  const res = await runCli(['check', tempFile(jsonl(lines)), '--campaign', 'pre', '--json', ...extra], env);
  return {
    code: res.code,
    stderr: res.stderr,
    summary: res.stdout
      ? (JSON.parse(res.stdout) as {
          accepted: number;
          rejected: number;
          rejects: Array<{ line: number; error: string }>;
          warnings: Array<{ line: number; warning: string }>;
        })
      : undefined,
  };
}

describe('preflight: media links', () => {
  it('applies the media table to what each link answers (types, sizes, 404, redirects, HEAD refused, a slow host)', async () => {
    const host = await mediaHost();
    const { config } = await stack.start({
      simulator: {},
      config: { PREFLIGHT_ALLOW_PRIVATE: 'true', PREFLIGHT_TIMEOUT_MS: 2000 },
    });
    const u = (path: string) => `${host.url}${path}`;
    const { code, summary } = await check(
      [
        image(1, u('/ok.png')),
        image(2, u('/big.png')),
        image(3, u('/missing.png')),
        image(4, u('/moved.png')),
        image(5, u('/nohead.png')),
        image(6, u('/slow.png')),
        image(7, u('/loop')),
        header(8, u('/letter.docx')),
        header(9, u('/offer.pdf')),
      ],
      envOf(config),
    );
    expect(code).toBe(1);
    const rejects = Object.fromEntries((summary?.rejects ?? []).map((r) => [r.line, r.error]));
    expect(rejects).toEqual({
      2: `image ${u('/big.png')}: the link is 6.0 MB; an image may be at most 5.0 MB`,
      3: `image ${u('/missing.png')}: the link answers HTTP 404`,
      8: `header document ${u('/letter.docx')}: the link is application/vnd.openxmlformats-officedocument.wordprocessingml.document; a template header document must be application/pdf`,
    });
    const warnings = Object.fromEntries((summary?.warnings ?? []).map((w) => [w.line, w.warning]));
    expect(warnings).toEqual({
      6: `image ${u('/slow.png')}: not checked, unreachable (no answer within 2000 ms)`,
      7: `image ${u('/loop')}: not checked, unreachable (more than 5 redirects)`,
    });
    expect(summary?.accepted).toBe(6);
    // HEAD first; a ranged GET only where HEAD was refused; the redirect followed to its target.
    expect(host.hits.get('HEAD /nohead.png')).toBe(1);
    expect(host.hits.get('GET /nohead.png')).toBe(1);
    expect(host.hits.get('GET /ok.png')).toBeUndefined();
    expect(host.hits.get('HEAD /ok.png')).toBe(2);

    // With --strict an unreachable link is a reject.
    const strict = await check([image(6, u('/slow.png'))], envOf(config), ['--strict']);
    expect(strict.summary?.rejects[0]?.error).toBe(`image ${u('/slow.png')}: unreachable (no answer within 2000 ms)`);
  });

  it('does not fetch links that resolve to a private address unless PREFLIGHT_ALLOW_PRIVATE=true', async () => {
    const host = await mediaHost();
    const { config } = await stack.start({ simulator: {} });
    const port = new URL(host.url).port;
    const { summary } = await check(
      [
        image(1, `http://localhost:${port}/ok.png`),
        image(2, `http://127.0.0.1:${port}/ok.png`),
        image(3, `http://[::1]:${port}/ok.png`),
      ],
      envOf(config),
    );
    expect(summary?.rejected).toBe(0);
    expect(summary?.warnings.map((w) => w.warning)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^image http://localhost:${port}/ok.png: localhost resolves to [^;]*127\\.0\\.0\\.1[^;]*, a private or reserved address; not fetched \\(PREFLIGHT_ALLOW_PRIVATE=true allows it\\)$`,
        ),
      ),
      `image http://127.0.0.1:${port}/ok.png: 127.0.0.1 is a private or reserved address; not fetched (PREFLIGHT_ALLOW_PRIVATE=true allows it)`,
      `image http://[::1]:${port}/ok.png: ::1 is a private or reserved address; not fetched (PREFLIGHT_ALLOW_PRIVATE=true allows it)`,
    ]);
    expect(host.hits.size).toBe(0);
  });

  it('checks each distinct link and template once: 5,000 lines with one template and one image cost two lookups', async () => {
    const host = await mediaHost();
    const { sim, config } = await stack.start({
      simulator: {
        templateCatalog: [
          {
            name: 'promo',
            language: 'en',
            status: 'APPROVED',
            components: [
              { type: 'HEADER', format: 'image' },
              { type: 'BODY', text: 'Hi {{1}}' },
            ],
          },
        ],
      },
      config: { PREFLIGHT_ALLOW_PRIVATE: 'true' },
    });
    const lines = Array.from({ length: 5000 }, (_, i) => ({
      to: phone(i),
      body: {
        type: 'template',
        template: {
          name: 'promo',
          language: 'en',
          components: [
            { type: 'header', parameters: [{ type: 'image', image: { link: `${host.url}/ok.png` } }] },
            { type: 'body', parameters: [{ type: 'text', text: `n${i}` }] },
          ],
        },
      },
    }));
    const { code, summary } = await check(lines, envOf(config));
    expect(code).toBe(0);
    expect(summary).toMatchObject({ accepted: 5000, rejected: 0 });
    expect(sim.templateLookups).toBe(1);
    expect([...host.hits.values()].reduce((a, b) => a + b, 0)).toBe(1);
  });
});

describe('preflight: templates', () => {
  const catalog: TemplateInfo[] = [
    {
      name: 'order_update',
      language: 'en',
      status: 'APPROVED',
      components: [
        { type: 'HEADER', format: 'document' },
        { type: 'BODY', text: 'Hello {{1}}, order {{2}}' },
      ],
    },
    { name: 'winter_sale', language: 'en', status: 'PAUSED', components: [{ type: 'BODY', text: 'Sale' }] },
  ];
  const doc = { type: 'document', document: { id: 'media-1' } };
  const t = (i: number, name: string, components: unknown[]) => ({
    to: phone(i),
    body: { type: 'template', template: { name, language: 'en', components } },
  });
  const text = (v: string) => ({ type: 'text', text: v });

  it('rejects unknown and paused templates, wrong parameter counts and a header of another format, per line, and sends never the same way', async () => {
    const { sim, config } = await stack.start({ simulator: { templateCatalog: catalog } });
    const { code, summary } = await check(
      [
        t(1, 'order_update', [
          { type: 'header', parameters: [doc] },
          { type: 'body', parameters: [text('Ada'), text('1001')] },
        ]),
        t(2, 'no_such', []),
        t(3, 'winter_sale', []),
        t(4, 'order_update', [
          { type: 'header', parameters: [doc] },
          { type: 'body', parameters: [text('Ada')] },
        ]),
        t(5, 'order_update', [
          { type: 'header', parameters: [{ type: 'image', image: { id: 'media-2' } }] },
          { type: 'body', parameters: [text('Ada'), text('1001')] },
        ]),
      ],
      envOf(config),
    );
    expect(code).toBe(1);
    expect(summary?.accepted).toBe(1);
    expect(summary?.rejects).toEqual([
      { line: 2, error: "template no_such (en) does not exist in EngageLab's templates" },
      { line: 3, error: 'template winter_sale (en) is PAUSED, not APPROVED' },
      { line: 4, error: 'template order_update (en): its body has 2 variable(s), the message gives 1' },
      { line: 5, error: 'template order_update (en): its header is a document, the message gives a image' },
    ]);
    // Media by id cannot be checked: nothing was fetched, nothing warned.
    expect(summary?.warnings).toEqual([]);
    // The send path agrees: an unknown template is 4001 there too.
    const res = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Authorization: `Basic ${Buffer.from(`${config.ENGAGELAB_DEV_KEY}:${config.ENGAGELAB_DEV_SECRET}`).toString('base64')}`,
      },
      body: JSON.stringify({
        to: ['447400555001'],
        body: { type: 'template', template: { name: 'no_such', language: 'en' } },
      }),
    });
    expect(((await res.json()) as { code: number }).code).toBe(4001);
  });

  it('stops with one line when EngageLab refuses the credentials', async () => {
    const { config, h } = await stack.start({ simulator: { templateCatalog: catalog, secret: 'another-secret' } });
    const res = await runCli(
      ['enqueue', tempFile(jsonl([t(1, 'order_update', [])])), '--campaign', 'pre'],
      envOf(config),
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'wa-bulk: preflight: EngageLab refused the credentials (2001 authentication failed: invalid dev key or secret); nothing was enqueued\n',
    );
    expect(await h.ledger.campaign('pre')).toBeUndefined();
  });
});
