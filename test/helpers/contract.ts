import { expect } from '@jest/globals';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { NextFunction, Request, Response } from 'express';
import type { Config } from '../../src/config.js';
import { startDashboard as start, type Dashboard } from '../../src/http/dashboard.js';
import { openApiDocument } from '../../src/http/openapi.js';
import type { Logger } from '../../src/log.js';

/**
 * Every answer a test receives, checked against the published contract: its status must be one the
 * operation documents, its media type one the answer documents, and a JSON body must match the answer's
 * schema in the closed variant of the document (src/http/openapi.ts), where an object may carry no field the
 * contract does not name. Test files start their dashboards with this module's startDashboard and call
 * expectConforming() once they are done.
 */

type Content = Record<string, { schema?: object }>;
type Answer = { $ref?: string; content?: Content };
interface Operation {
  pattern: RegExp;
  /** Templated segments: a literal path wins over `{id}` when both match. */
  params: number;
  method: string;
  path: string;
  responses: Record<string, Answer>;
}

const document = openApiDocument({ closed: true });
// One schema resource holds the components; every $ref points into it, inline answers' ones included.
const text = JSON.stringify(document).replaceAll('"#/components/', '"contract#/components/');
const published = JSON.parse(text) as typeof document;

const ajv = new Ajv2020({ allErrors: true, strictTypes: false, strictTuples: false });
for (const keyword of ['example', 'discriminator', 'xml', 'externalDocs', 'components']) ajv.addKeyword(keyword);
ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
ajv.addSchema({ $id: 'contract', components: published.components ?? {} });

const OPERATIONS: Operation[] = Object.entries(published.paths ?? {}).flatMap(([path, item]) =>
  Object.entries(item as Record<string, { responses: Record<string, Answer> }>).map(([method, op]) => ({
    method: method.toUpperCase(),
    path,
    params: (path.match(/\{/g) ?? []).length,
    // As Express matches: any case, an optional trailing slash.
    pattern: new RegExp(`^${path.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+')}/?$`, 'i'),
    responses: op.responses,
  })),
);

function operationOf(method: string, path: string): Operation | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return OPERATIONS.filter((op) => op.method === m && op.pattern.test(path)).sort((a, b) => a.params - b.params)[0];
}

function answerOf(op: Operation, status: number): Answer | undefined {
  const answer = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`] ?? op.responses.default;
  if (!answer?.$ref) return answer;
  return published.components?.responses?.[answer.$ref.split('/').pop() as string] as Answer | undefined;
}

const compiled = new Map<object, ValidateFunction>();
function validatorOf(schema: object): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, (validate = ajv.compile(schema)));
  return validate;
}

/** What the dashboard may answer anywhere, before a route is found (access, loopback, unknown paths). */
const ANYWHERE = new Set([401, 403, 404, 413, 429, 500, 503]);
const errorSchema = { $ref: 'contract#/components/schemas/Error' };

export class ContractInspector {
  readonly violations: string[] = [];
  checked = 0;

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const json = res.json.bind(res);
    let body: { value: unknown } | undefined;
    res.json = (value: unknown) => {
      body = { value };
      return json(value);
    };
    // The path as asked: a router mounted on a prefix (Bull Board) strips it from req.path.
    const path = new URL(req.originalUrl, 'http://localhost').pathname;
    res.on('finish', () => this.check(req.method, path, res, body));
    next();
  };

  private check(method: string, path: string, res: Response, body: { value: unknown } | undefined): void {
    // Bull Board's own pages and API (under /queues) are not wa-bulk's contract.
    if (/^\/queues\/./i.test(path)) return;
    this.checked++;
    const status = res.statusCode;
    const where = `${method} ${path} → ${status}`;
    const media = String(res.get('Content-Type') ?? '')
      .split(';')[0]
      ?.trim();
    const op = operationOf(method, path);
    if (!op) {
      // A refusal before any route, or a path no route serves: always {"error"}.
      if (!ANYWHERE.has(status)) this.violations.push(`${where}: no operation documents this route`);
      else if (body && !validatorOf(errorSchema)(body.value)) this.violations.push(`${where}: not an Error body`);
      return;
    }
    const answer = answerOf(op, status);
    if (!answer) {
      this.violations.push(`${where}: ${op.method} ${op.path} documents no ${status} answer`);
      return;
    }
    const content = answer.content ?? {};
    if (body) {
      const schema = content['application/json']?.schema;
      if (!schema) {
        this.violations.push(`${where}: a JSON body, which the answer does not document`);
        return;
      }
      const validate = validatorOf(schema);
      if (!validate(body.value))
        this.violations.push(
          `${where}: ${ajv.errorsText(validate.errors, { dataVar: 'body' })} in ${String(JSON.stringify(body.value)).slice(0, 300)}`,
        );
    } else if (media && Object.keys(content).length > 0 && !(media in content)) {
      this.violations.push(
        `${where}: ${media}, which the answer does not document (${Object.keys(content).join(', ')})`,
      );
    }
  }

  /** Fails the test file when an answer broke the contract; and when nothing was checked. */
  expectConforming(): void {
    expect(this.violations).toEqual([]);
    expect(this.checked).toBeGreaterThan(0);
  }
}

/** One inspector per test file (jest gives each file its own modules). */
export const contract = new ContractInspector();

/** The dashboard, with every answer checked against the contract. */
export function startDashboard(config: Config, log: Logger): Promise<Dashboard> {
  return start(config, log, { inspect: contract.middleware });
}
