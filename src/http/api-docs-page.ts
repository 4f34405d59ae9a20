import type { OpenApiDocument } from './openapi.js';

/**
 * /api/docs: the contract as a page, rendered here on the server from the document itself, so that it needs
 * no script, no font and nothing from another host (the dashboard is often offline, behind a firewall). One
 * section per operation and webhook event, then every named schema; a `$ref` is a link to its schema.
 */

type Schema = Record<string, unknown>;
type Operation = {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { $ref?: string; description?: string; content?: Record<string, { schema?: Schema }> }>;
  'x-wa-bulk-role'?: string;
};

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
/** The little Markdown the descriptions use: `code` and **strong**. */
const prose = (text: string | undefined) =>
  esc(text ?? '')
    .replace(/`([^`]+)`/g, '<code>$1</code>')
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
    .replace(/\n\n/g, '</p><p>');
const refName = (ref: string) => ref.split('/').pop() ?? ref;
const schemaLink = (name: string) => `<a href="#schema-${esc(name)}">${esc(name)}</a>`;

/** A schema in a few words: its type, with links to named schemas. */
export function typeOf(schema: Schema | undefined): string {
  if (!schema) return 'any';
  if (typeof schema.$ref === 'string') return schemaLink(refName(schema.$ref));
  if ('const' in schema) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
  for (const key of ['anyOf', 'oneOf'] as const)
    if (Array.isArray(schema[key])) return (schema[key] as Schema[]).map(typeOf).join(' or ');
  const type = Array.isArray(schema.type) ? schema.type.join(' or ') : String(schema.type ?? 'any');
  if (schema.type === 'array') return `array of ${typeOf(schema.items as Schema | undefined)}`;
  const bounds = [
    schema.minimum !== undefined && `≥ ${String(schema.minimum)}`,
    schema.maximum !== undefined && `≤ ${String(schema.maximum)}`,
    schema.format !== undefined && String(schema.format),
    schema.pattern !== undefined && `<code>${esc(schema.pattern)}</code>`,
  ].filter(Boolean);
  return bounds.length > 0 ? `${esc(type)} (${bounds.join(', ')})` : esc(type);
}

/** An object's fields as a table, nested objects within; other schemas in a line. */
function schemaBlock(schema: Schema | undefined, depth = 0): string {
  if (!schema) return '';
  const variants = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (variants && depth < 3 && variants.some((v) => v.type === 'object'))
    return `<p>one of:</p><ol>${variants.map((v) => `<li>${schemaBlock(v, depth + 1)}</li>`).join('')}</ol>`;
  const properties = schema.properties as Record<string, Schema> | undefined;
  if (schema.type !== 'object' || !properties || depth > 3)
    return `<p class="type">${typeOf(schema)}${schema.description ? ` — ${prose(String(schema.description))}` : ''}</p>`;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties).map(([name, field]) => {
    const inner =
      field.type === 'object' && field.properties
        ? schemaBlock(field, depth + 1)
        : field.type === 'array' && (field.items as Schema | undefined)?.properties
          ? `<p>each:</p>${schemaBlock(field.items as Schema, depth + 1)}`
          : '';
    return `<tr><td><code>${esc(name)}</code>${required.has(name) ? '' : ' <span class="opt">optional</span>'}</td><td>${typeOf(field)}</td><td>${prose(field.description as string | undefined)}${inner}</td></tr>`;
  });
  return `<table><tr><th>field</th><th>type</th><th></th></tr>${rows.join('')}</table>`;
}

function content(body: Record<string, { schema?: Schema }> | undefined): string {
  return Object.entries(body ?? {})
    .map(([media, { schema }]) =>
      schema?.properties || schema?.oneOf || schema?.anyOf
        ? `<div class="media"><code>${esc(media)}</code>${schemaBlock(schema)}</div>`
        : `<div class="media"><code>${esc(media)}</code>: ${typeOf(schema)}${schema?.description ? ` — ${prose(String(schema.description))}` : ''}</div>`,
    )
    .join('');
}

function operationSection(method: string, path: string, op: Operation, anchor: string): string {
  const params = op.parameters ?? [];
  const paramTable =
    params.length === 0
      ? ''
      : `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>${params
          .map(
            (p) =>
              `<tr><td><code>${esc(p.name)}</code>${p.required ? '' : ' <span class="opt">optional</span>'}</td><td>${esc(p.in)}</td><td>${typeOf(p.schema)}</td><td>${prose(p.description)}</td></tr>`,
          )
          .join('')}</table>`;
  const body = op.requestBody ? `<h4>Body</h4>${content(op.requestBody.content)}` : '';
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) =>
      r.$ref
        ? `<li><strong>${esc(status)}</strong> <a href="#response-${esc(refName(r.$ref))}">${esc(refName(r.$ref))}</a></li>`
        : `<li><strong>${esc(status)}</strong> ${prose(r.description)}${content(r.content)}</li>`,
    )
    .join('');
  const role = op['x-wa-bulk-role'];
  return `<section id="${esc(anchor)}"><h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code>${role ? ` <span class="role">${esc(role)}</span>` : ''}</h3>
<p>${prose(op.summary)}</p><p>${prose(op.description)}</p>${paramTable}${body}<h4>Answers</h4><ul class="answers">${responses}</ul></section>`;
}

type PathItems = Record<string, Record<string, Operation>>;

function operations(items: PathItems | undefined): Array<[string, string, Operation]> {
  return Object.entries(items ?? {}).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): [string, string, Operation] => [method, path, op]),
  );
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;display:flex}
nav{width:290px;flex:none;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f6f9;padding:16px;box-sizing:border-box;font-size:13px}
nav a{display:block;color:#1d2330;text-decoration:none;padding:1px 0}nav h2{font-size:13px;text-transform:uppercase;color:#5b6575;margin:14px 0 4px}
main{padding:8px 32px 64px;max-width:1100px;min-width:0}section{border-top:1px solid #dde2ea;padding:8px 0}
code{font:13px ui-monospace,monospace;background:#f0f2f5;padding:0 3px;border-radius:3px}
table{border-collapse:collapse;margin:4px 0;font-size:14px}td,th{border:1px solid #dde2ea;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f6f9}
.method{display:inline-block;min-width:58px;text-align:center;border-radius:4px;color:#fff;font-size:12px;padding:2px 6px}
.get{background:#2f7d4f}.post{background:#2d5fa8}.delete{background:#b03a2e}
.role{font-size:12px;border:1px solid #8a94a6;border-radius:10px;padding:1px 8px;color:#3d4757;font-weight:normal}
.opt{color:#8a94a6;font-size:12px}.media{margin:4px 0 8px}.type{margin:2px 0}ul.answers{padding-left:18px}`;

/** The whole reference page of `document`. */
export function apiDocsPage(document: OpenApiDocument): string {
  const paths = operations(document.paths as PathItems);
  const hooks = operations(document.webhooks as PathItems);
  const schemas = Object.entries((document.components?.schemas ?? {}) as Record<string, Schema>);
  const responses = Object.entries(
    (document.components?.responses ?? {}) as Record<
      string,
      { description?: string; content?: Record<string, { schema?: Schema }> }
    >,
  );
  const tags = (document.tags ?? []).map((t) => t.name);
  const byTag = (tag: string, list: Array<[string, string, Operation]>) =>
    list.filter(([, , op]) => op.tags?.[0] === tag);
  const anchor = (op: Operation, method: string, path: string) => `op-${op.operationId ?? `${method}-${path}`}`;
  const nav = tags
    .map((tag) => {
      const list = byTag(tag, tag === 'events' ? hooks : paths);
      return `<h2>${esc(tag)}</h2>${list
        .map(
          ([m, p, op]) =>
            `<a href="#${esc(anchor(op, m, p))}">${tag === 'events' ? esc(p) : `${esc(m.toUpperCase())} ${esc(p)}`}</a>`,
        )
        .join('')}`;
    })
    .join('');
  const body = tags
    .map((tag) => {
      const list = byTag(tag, tag === 'events' ? hooks : paths);
      const about = document.tags?.find((t) => t.name === tag)?.description;
      return `<h2>${esc(tag)}</h2><p>${prose(about)}</p>${list.map(([m, p, op]) => operationSection(m, p, op, anchor(op, m, p))).join('')}`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,"><title>${esc(document.info.title)} API ${esc(document.info.version)}</title><style>${STYLE}</style></head>
<body><nav><strong>${esc(document.info.title)} ${esc(document.info.version)}</strong><a href="/api/openapi.json">openapi.json</a>${nav}<h2>reference</h2><a href="#responses">common answers</a><a href="#schemas">schemas</a></nav>
<main><h1>${esc(document.info.title)} API</h1><p>${prose(document.info.description)}</p>
<p>OpenAPI ${esc(document.openapi)}: <a href="/api/openapi.json">/api/openapi.json</a>. Credentials: Basic (the operator's login) or <code>Authorization: Bearer</code> with an API key.</p>
${body}
<h2 id="responses">Common answers</h2>${responses.map(([name, r]) => `<section id="response-${esc(name)}"><h3>${esc(name)}</h3><p>${prose(r.description)}</p>${content(r.content)}</section>`).join('')}
<h2 id="schemas">Schemas</h2>${schemas.map(([name, s]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3><p>${prose(s.description as string | undefined)}</p>${schemaBlock(s)}</section>`).join('')}
</main></body></html>
`;
}
