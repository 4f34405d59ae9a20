import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TEMPLATE_LANGUAGES } from '../../src/messages/languages.js';
import { maskPhone, normalisePhone } from '../../src/messages/phone.js';
import { validateJson, validateMessage } from '../../src/messages/validate.js';
import { seedJsonExamples } from '../helpers/seed-examples.js';

/**
 * The seeds' examples use two placeholders that are not real values: the template name
 * "your-template-name" (the same document says names are lowercase letters, digits and "_") and the
 * link "http(s)://the-url". They are replaced by concrete values of the same kind; everything else is
 * validated exactly as printed.
 */
function concretise(example: Record<string, unknown>): unknown {
  return JSON.parse(
    JSON.stringify(example)
      .replaceAll('"your-template-name"', '"your_template_name"')
      .replaceAll('"http(s)://the-url"', '"https://example.com/invoice.pdf"'),
  );
}

const ok = (value: unknown) => {
  const result = validateMessage(value);
  if (!result.ok) throw new Error(`expected valid, got: ${result.error}`);
  return result.message;
};
const error = (value: unknown) => {
  const result = validateMessage(value);
  if (result.ok) throw new Error('expected a validation error');
  return result.error;
};

const text = (body: string) => ({ to: '+447911123456', body: { type: 'text', text: { body } } });
const template = (tpl: Record<string, unknown>) => ({
  to: '+447911123456',
  body: { type: 'template', template: { name: 'order_update', language: 'en', ...tpl } },
});

describe('seed document examples', () => {
  const examples = seedJsonExamples();
  const messages = examples.filter((e) => 'body' in e.value && 'to' in e.value);

  it('finds the examples of both documents', () => {
    expect(messages.filter((e) => e.seed.endsWith('.en.txt')).length).toBe(8);
    expect(messages.filter((e) => e.seed.endsWith('.ja.txt')).length).toBe(9);
  });

  it.each(messages.map((e) => [`${e.seed} #${e.index}`, e.value]))('accepts %s', (_name, value) => {
    ok(concretise(value as Record<string, unknown>));
  });

  it('rejects the placeholder template name as printed, because it contains "-"', () => {
    const withPlaceholder = messages.find((e) => JSON.stringify(e.value).includes('your-template-name'));
    expect(withPlaceholder).toBeDefined();
    expect(error(withPlaceholder?.value)).toMatch(/^body\.template\.name: /);
  });
});

describe('normalisation', () => {
  it('accepts + and 00 prefixes and returns digits only', () => {
    expect(ok({ ...text('hi'), to: ['+8613800138000', '00447911123456', '44 7911 123-456'] }).to).toEqual([
      '8613800138000',
      '447911123456',
    ]);
  });

  it('accepts a single string as a one-element array', () => {
    expect(ok({ ...text('hi'), to: '8613800138000' }).to).toEqual(['8613800138000']);
  });

  it('normalises the sender too', () => {
    expect(ok({ ...text('hi'), from: '+8613800138000' }).from).toBe('8613800138000');
  });

  it('passes custom_args through untouched', () => {
    const custom_args = { arg1: 'string val', arg2: 123, nested: { a: [1, null] } };
    expect(ok({ ...text('hi'), custom_args }).custom_args).toEqual(custom_args);
  });

  it('refuses custom_args that use the key wa-bulk reserves for the request_id, saying so', () => {
    expect(error({ ...text('hi'), custom_args: { order: 7, wa_bulk_request_id: 'mine' } })).toBe(
      'custom_args: "wa_bulk_request_id" is reserved: wa-bulk sends the message\'s request_id under it; use another name',
    );
  });

  it('masks phone numbers for logs', () => {
    expect(maskPhone('447911123456')).toBe('4479******56');
    expect(normalisePhone('+0044')).toBeUndefined();
  });
});

describe('rejections name the field', () => {
  it('a body that is not JSON', () => {
    expect(validateJson('{"to": "447911123456", "body": ')).toEqual({
      ok: false,
      error: expect.stringMatching(/^not valid JSON/),
    });
  });

  it('no "to"', () => {
    expect(error({ body: { type: 'text', text: { body: 'x' } } })).toBe('to: is required');
  });

  it('"to" not a phone number', () => {
    expect(error({ ...text('x'), to: ['447911123456', 'call me'] })).toMatch(
      /^to\[1\]: "call me" is not an international phone number/,
    );
  });

  it('an unknown type', () => {
    expect(error({ to: '447911123456', body: { type: 'carousel' } })).toBe(
      'body.type: type must be one of template, text, image, audio, video, document, sticker',
    );
  });

  it('text over 4096 characters', () => {
    expect(ok(text('é'.repeat(4096))).body.type).toBe('text');
    expect(error(text('x'.repeat(4097)))).toBe('body.text.body: text is 4097 characters long; the limit is 4096');
  });

  it('a caption over 1024 characters', () => {
    const image = { link: 'https://example.com/a.png', caption: 'c'.repeat(1025) };
    expect(error({ to: '447911123456', body: { type: 'image', image } })).toBe(
      'body.image.caption: caption is 1025 characters long; the limit is 1024',
    );
  });

  it.each(['Order_update', 'order-update'])('a template name %s', (name) => {
    expect(error(template({ name }))).toBe('body.template.name: must contain only lowercase letters, digits and "_"');
  });

  it("a language not in WhatsApp's list", () => {
    expect(error(template({ language: 'en-US' }))).toMatch(/^body\.template\.language: "en-US" is not a WhatsApp/);
  });

  it('knows every language of the reference list, and no other', () => {
    const file = fileURLToPath(new URL('../fixtures/template-languages.txt', import.meta.url));
    const listed = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(listed).toHaveLength(111);
    expect([...TEMPLATE_LANGUAGES].sort()).toEqual([...listed].sort());
  });

  it.each(['image', 'video', 'audio', 'document', 'sticker'])('%s with neither id nor link', (type) => {
    expect(error({ to: '447911123456', body: { type, [type]: {} } })).toBe(
      `body.${type}: needs an "id" (WhatsApp media id) or a "link"`,
    );
  });

  it('a link that is not http(s)', () => {
    expect(error({ to: '447911123456', body: { type: 'video', video: { link: 'ftp://example.com/v.mp4' } } })).toBe(
      'body.video.link: must be an http:// or https:// link',
    );
  });

  it('a media parameter outside the header', () => {
    const components = [{ type: 'body', parameters: [{ type: 'image', image: { link: 'https://e.com/a.png' } }] }];
    expect(error(template({ components }))).toBe(
      'body.template.components[0].parameters[0].type: media parameter "image" is only allowed in the header component, not in "body"',
    );
    ok(template({ components: [{ ...components[0], type: 'header' }] }));
  });

  it('currency without amount_1000', () => {
    const components = [
      { type: 'body', parameters: [{ type: 'currency', currency: { fallback_value: '$1', code: 'USD' } }] },
    ];
    expect(error(template({ components }))).toBe(
      'body.template.components[0].parameters[0].currency.amount_1000: is required: the amount multiplied by 1000, as an integer',
    );
  });

  it('date_time with neither parts nor timestamp', () => {
    const components = [{ type: 'body', parameters: [{ type: 'date_time', date_time: { fallback_value: 'today' } }] }];
    expect(error(template({ components }))).toBe(
      'body.template.components[0].parameters[0].date_time: needs either a "timestamp" or its parts (at least "year", "month" and "day_of_month")',
    );
  });

  it('a button component without sub_type and index', () => {
    const components = [{ type: 'button', parameters: [{ type: 'text', text: '123456' }] }];
    expect(error(template({ components }))).toBe(
      'body.template.components[0].sub_type: is required on a button component; body.template.components[0].index: is required on a button component (0-9)',
    );
  });

  it('a misspelt field instead of dropping it', () => {
    expect(
      error({ to: '447911123456', body: { type: 'image', image: { link: 'https://e.com/a.png', captoin: 'x' } } }),
    ).toBe('body.image: unknown field "captoin"');
  });

  it('a line that is not an object', () => {
    expect(validateJson('[1,2]')).toEqual({ ok: false, error: 'a message must be a JSON object with "to" and "body"' });
  });
});
