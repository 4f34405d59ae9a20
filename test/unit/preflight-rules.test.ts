import { describe, expect, it } from '@jest/globals';
import { getCountries, getCountryCallingCode, getExampleNumber } from 'libphonenumber-js/min';
import examples from 'libphonenumber-js/examples.mobile.json' with { type: 'json' };
import { phoneProblem } from '../../src/messages/phone.js';
import { validateMessage } from '../../src/messages/validate.js';
import { MEDIA_RULES, mediaProblem, type MediaKind } from '../../src/preflight/media-rules.js';
import { templateProblem, variablesOf } from '../../src/preflight/templates.js';

describe('phone numbers', () => {
  // Valid and impossible numbers of a handful of countries, from the library's own metadata.
  const countries = ['GB', 'US', 'CN', 'IN', 'BR', 'FR', 'ES', 'IT', 'AU', 'MX'] as const;
  it.each(countries)(
    'takes the example mobile number of %s and refuses one too long or too short for it',
    (country) => {
      expect(getCountries()).toContain(country);
      const example = getExampleNumber(country, examples);
      const digits = (example?.number as string).slice(1);
      expect(phoneProblem(digits)).toBeUndefined();
      // Two digits more than the example: these countries' mobile numbers have one length. The calling code
      // and two digits: shorter than any number.
      expect(phoneProblem(`${digits}00`)).toMatch(
        new RegExp(
          `^is (too long|not a valid number) for a number of .*${country}.* \\(\\+${getCountryCallingCode(country)}\\)|^is not a valid number of`,
        ),
      );
      expect(phoneProblem(digits.slice(0, getCountryCallingCode(country).length + 2))).toMatch(
        /^is too short for a number of /,
      );
    },
  );

  it('refuses a calling code no country has, and a North American area code that does not exist, naming the country', () => {
    expect(validateMessage({ to: '+999 1234567', body: { type: 'text', text: { body: 'x' } } })).toEqual({
      ok: false,
      error: 'to[0]: "+999 1234567" has a calling code no country uses (+999…)',
    });
    const nanp = validateMessage({ to: '+1 000 555 0100', body: { type: 'text', text: { body: 'x' } } });
    expect(nanp).toEqual({
      ok: false,
      error: 'to[0]: "+1 000 555 0100" is not a valid number of US, AG, AI, … (+1): no such area or network code',
    });
    const from = validateMessage({
      from: '+44 740055',
      to: '+447400555001',
      body: { type: 'text', text: { body: 'x' } },
    });
    expect(from).toEqual({ ok: false, error: 'from: "+44 740055" is too short for a number of GB, GG, IM, … (+44)' });
  });
});

describe('the media rules table', () => {
  const rows: Array<[MediaKind, boolean, string]> = [
    ['image', false, 'image/jpeg'],
    ['image', false, 'image/png'],
    ['video', false, 'video/mp4'],
    ['video', false, 'video/3gpp'],
    ['audio', false, 'audio/aac'],
    ['audio', false, 'audio/mp4'],
    ['audio', false, 'audio/amr'],
    ['audio', false, 'audio/mpeg'],
    ['audio', false, 'audio/ogg; codecs=opus'],
    ['document', false, 'application/zip'],
    ['document', true, 'application/pdf'],
    ['sticker', false, 'image/webp'],
  ];
  it.each(rows)('%s (header: %s) %s: taken at its limit, refused one byte over', (kind, inHeader, type) => {
    const limit = MEDIA_RULES[kind === 'document' && inHeader ? 'header-document' : kind].maxBytes;
    expect(mediaProblem(kind, inHeader, type, limit)).toEqual({});
    expect(mediaProblem(kind, inHeader, type, limit + 1).reject).toMatch(/may be at most/);
  });

  it('states the limits the seed table gives', () => {
    expect(Object.fromEntries(Object.entries(MEDIA_RULES).map(([k, r]) => [k, r.maxBytes]))).toEqual({
      image: 5 * 2 ** 20,
      video: 16 * 2 ** 20,
      audio: 16 * 2 ** 20,
      document: 100 * 2 ** 20,
      'header-document': 100 * 2 ** 20,
      sticker: 500 * 2 ** 10,
    });
  });

  it('refuses a type the table does not allow for that media type, and a template header document that is not a PDF', () => {
    expect(mediaProblem('image', false, 'image/gif', 10).reject).toBe(
      'the link is image/gif; an image must be image/jpeg, image/png',
    );
    expect(mediaProblem('sticker', false, 'image/png', 10).reject).toMatch(
      /^the link is image\/png; a sticker must be image\/webp/,
    );
    expect(mediaProblem('document', true, 'application/msword', 10).reject).toBe(
      'the link is application/msword; a template header document must be application/pdf',
    );
    expect(mediaProblem('video', false, undefined, 10).reject).toMatch(/gives no Content-Type/);
    expect(mediaProblem('audio', false, 'audio/ogg', 10).warning).toMatch(/without codecs=opus/);
    expect(mediaProblem('image', false, 'image/png', undefined).warning).toBe('the link does not say its size');
  });
});

describe('templates', () => {
  const info = {
    name: 'order_update',
    language: 'en',
    status: 'APPROVED',
    components: [
      { type: 'HEADER', format: 'document' },
      { type: 'BODY', text: 'Hello {{1}}, your order of {{2}} ships {{3}}.' },
      {
        type: 'BUTTONS',
        buttons: [
          { type: 'URL', url: 'https://shop.example/track/{{1}}' },
          { type: 'QUICK_REPLY', text: 'Stop' },
        ],
      },
    ],
  };
  const doc = { type: 'document', document: { link: 'https://example.com/i.pdf' } } as const;
  const text = (t: string) => ({ type: 'text', text: t }) as const;
  const tpl = (components: unknown[]) => ({ name: 'order_update', language: 'en', components }) as never;

  it('counts variables', () => {
    expect(variablesOf('a {{1}} b {{ 2 }} {{2}}')).toBe(2);
    expect(variablesOf(undefined)).toBe(0);
  });

  it('takes a message that fills the template', () => {
    const ok = tpl([
      { type: 'header', parameters: [doc] },
      { type: 'body', parameters: [text('a'), text('b'), text('c')] },
      { type: 'button', sub_type: 'url', index: 0, parameters: [text('x')] },
    ]);
    expect(templateProblem(ok, info)).toBeUndefined();
  });

  it('names what does not match: unknown, status, counts, the header format, a button', () => {
    expect(templateProblem(tpl([]), undefined)).toBe(
      "template order_update (en) does not exist in EngageLab's templates",
    );
    expect(templateProblem(tpl([]), { ...info, status: 'PAUSED' })).toBe(
      'template order_update (en) is PAUSED, not APPROVED',
    );
    expect(
      templateProblem(
        tpl([
          { type: 'header', parameters: [doc] },
          { type: 'body', parameters: [text('a')] },
        ]),
        info,
      ),
    ).toBe('template order_update (en): its body has 3 variable(s), the message gives 1');
    const image = { type: 'image', image: { link: 'https://example.com/a.png' } };
    expect(
      templateProblem(
        tpl([
          { type: 'header', parameters: [image] },
          { type: 'body', parameters: [text('a'), text('b'), text('c')] },
        ]),
        info,
      ),
    ).toBe('template order_update (en): its header is a document, the message gives a image');
    expect(templateProblem(tpl([{ type: 'body', parameters: [text('a'), text('b'), text('c')] }]), info)).toBe(
      'template order_update (en): its header is a document, the message gives none',
    );
    const button = tpl([
      { type: 'header', parameters: [doc] },
      { type: 'body', parameters: [text('a'), text('b'), text('c')] },
      { type: 'button', sub_type: 'url', index: 3, parameters: [text('x')] },
    ]);
    expect(templateProblem(button, info)).toBe('template order_update (en) has no button 3');
    const location = { type: 'location', location: { latitude: 51.5, longitude: -0.12 } };
    expect(
      templateProblem(
        tpl([
          { type: 'header', parameters: [location] },
          { type: 'body', parameters: [text('a'), text('b'), text('c')] },
        ]),
        { ...info, components: [{ type: 'HEADER', format: 'LOCATION' }, info.components[1] as never] },
      ),
    ).toBeUndefined();
  });

  it('takes a location header parameter in a header only', () => {
    const location = {
      type: 'location',
      location: { latitude: 51.5, longitude: -0.12, name: 'Shop', address: '1 High St' },
    };
    expect(
      validateMessage({
        to: '+447400555001',
        body: {
          type: 'template',
          template: { name: 'visit', language: 'en', components: [{ type: 'header', parameters: [location] }] },
        },
      }).ok,
    ).toBe(true);
    expect(
      validateMessage({
        to: '+447400555001',
        body: {
          type: 'template',
          template: { name: 'visit', language: 'en', components: [{ type: 'body', parameters: [location] }] },
        },
      }),
    ).toMatchObject({
      ok: false,
      error: expect.stringContaining('a location parameter is only allowed in the header component'),
    });
  });
});
