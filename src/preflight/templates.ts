import type { TemplateInfo } from '../engagelab/client.js';
import type { MessageBody } from '../messages/schema.js';

/**
 * A template message against EngageLab's Template Management API's answer for its name and language: it
 * must exist, be APPROVED, and its components' parameters must fill the template's {{n}} variables in
 * number, with a header parameter of the header's format (text, image, video, document, location).
 */

type TemplateBody = Extract<MessageBody, { type: 'template' }>['template'];

/** The number of variables of a component's text: the highest {{n}} (they are numbered from 1). */
export function variablesOf(text: string | undefined): number {
  let highest = 0;
  for (const match of (text ?? '').matchAll(/\{\{\s*(\d+)\s*\}\}/g)) highest = Math.max(highest, Number(match[1]));
  return highest;
}

const component = (info: TemplateInfo, type: string) => info.components?.find((c) => c.type.toUpperCase() === type);

export function templateProblem(template: TemplateBody, info: TemplateInfo | undefined): string | undefined {
  const what = `template ${template.name} (${template.language})`;
  if (!info) return `${what} does not exist in EngageLab's templates`;
  if (info.status !== 'APPROVED') return `${what} is ${info.status}, not APPROVED`;
  // An answer without components says nothing of the variables: nothing more to compare.
  if (!info.components) return undefined;
  const given = (type: 'header' | 'body') => template.components?.find((c) => c.type === type)?.parameters ?? [];

  const body = variablesOf(component(info, 'BODY')?.text);
  if (given('body').length !== body)
    return `${what}: its body has ${body} variable(s), the message gives ${given('body').length}`;

  const header = component(info, 'HEADER');
  const headerGiven = given('header');
  if (!header) {
    if (headerGiven.length > 0) return `${what} has no header, the message gives a header parameter`;
  } else {
    const format = (header.format ?? 'text').toLowerCase();
    if (format === 'text') {
      const wanted = variablesOf(header.text);
      if (headerGiven.length !== wanted)
        return `${what}: its text header has ${wanted} variable(s), the message gives ${headerGiven.length}`;
      if (headerGiven.some((p) => p.type !== 'text'))
        return `${what}: its header is text, the message gives a ${headerGiven.find((p) => p.type !== 'text')?.type} parameter`;
    } else {
      if (headerGiven.length !== 1)
        return `${what}: its header is a ${format}, the message gives ${headerGiven.length === 0 ? 'none' : `${headerGiven.length} parameters`}`;
      const type = headerGiven[0]?.type;
      if (type !== format) return `${what}: its header is a ${format}, the message gives a ${type}`;
    }
  }

  const buttons = component(info, 'BUTTONS')?.buttons;
  if (buttons) {
    for (const c of template.components ?? []) {
      if (c.type !== 'button') continue;
      const index = Number(c.index);
      const button = buttons[index];
      if (!button) return `${what} has no button ${index}`;
      const kind = (button.type ?? '').toUpperCase();
      const wanted = kind === 'URL' ? variablesOf(button.url) : kind === 'COPY_CODE' || kind === 'OTP' ? 1 : 0;
      if (c.parameters.length !== wanted)
        return `${what}: its button ${index} (${kind.toLowerCase() || 'button'}) takes ${wanted} parameter(s), the message gives ${c.parameters.length}`;
    }
  }
  return undefined;
}
