import pLimit from 'p-limit';
import type { Config } from '../config.js';
import { EngageLabClient, type TemplateInfo } from '../engagelab/client.js';
import { EngageLabError } from '../engagelab/errors.js';
import type { Message } from '../messages/schema.js';
import { mediaProblem, type MediaKind } from './media-rules.js';
import { probe } from './probe.js';
import { templateProblem } from './templates.js';

/**
 * Preflight: before anything is sent, each distinct template (name and language) is looked up once in
 * EngageLab's Template Management API and each distinct media link is probed once, at most `concurrency` at a
 * time, each within `timeoutMs`; the results are kept for the run. Then every message is screened against
 * them: a reject names the template or link and what is wrong, a warning says what could not be checked.
 * A campaign of a million lines with one template and one image link costs two lookups.
 */

export interface PreflightOptions {
  /** The client for the template lookups; without one templates are not checked (one warning says so). */
  client: EngageLabClient | undefined;
  concurrency: number;
  timeoutMs: number;
  allowPrivate: boolean;
  /** Unreachable links (and templates that could not be looked up) reject instead of warn. */
  strict?: boolean;
}

/** EngageLab refused the credentials: the check stops (it is not the campaign's fault). */
export class PreflightAuthError extends Error {
  override name = 'PreflightAuthError';
}

interface Verdict {
  reject?: string;
  warning?: string;
}

interface MediaRef {
  kind: MediaKind;
  link: string;
  inHeader: boolean;
}

function mediaOf(message: Message): MediaRef[] {
  const body = message.body;
  if (body.type === 'template') {
    const refs: MediaRef[] = [];
    for (const c of body.template.components ?? []) {
      for (const p of c.parameters) {
        const media =
          p.type === 'image' ? p.image : p.type === 'video' ? p.video : p.type === 'document' ? p.document : undefined;
        if (media?.link) refs.push({ kind: p.type as MediaKind, link: media.link, inHeader: true });
      }
    }
    return refs;
  }
  if (body.type === 'text') return [];
  const media = (body as unknown as Record<string, { link?: string } | undefined>)[body.type];
  return media?.link ? [{ kind: body.type, link: media.link, inHeader: false }] : [];
}

const templateKey = (name: string, language: string) => `${name}\0${language}`;
const mediaKey = (ref: MediaRef) => `${ref.kind}\0${ref.inHeader ? 'h' : 'm'}\0${ref.link}`;

export class Preflight {
  private readonly templates = new Map<string, TemplateInfo | null | { error: string }>();
  private readonly links = new Map<string, MediaRef>();
  private readonly linkVerdicts = new Map<string, Verdict>();
  /** Warnings of the run as a whole (templates not checked), once each. */
  readonly notes: string[] = [];
  readonly stats = { templateLookups: 0, linkProbes: 0 };

  constructor(private readonly options: PreflightOptions) {}

  /** Notes what a valid message refers to (first pass). */
  collect(message: Message): void {
    if (message.body.type === 'template') {
      const key = templateKey(message.body.template.name, message.body.template.language);
      if (!this.templates.has(key)) this.templates.set(key, null);
    }
    for (const ref of mediaOf(message)) this.links.set(mediaKey(ref), ref);
  }

  /** Looks everything up, once each, `concurrency` at a time. */
  async run(): Promise<void> {
    const limit = pLimit(this.options.concurrency);
    const client = this.options.client;
    if (!client && this.templates.size > 0)
      this.notes.push('templates not checked: ENGAGELAB_DEV_KEY and ENGAGELAB_DEV_SECRET are not set');
    const lookups = client
      ? [...this.templates.keys()].map((key) =>
          limit(async () => {
            const [name, language] = key.split('\0') as [string, string];
            this.stats.templateLookups++;
            try {
              const found = await withTimeout(
                client.listTemplates({ name, language_code: language }),
                this.options.timeoutMs,
              );
              this.templates.set(key, found.find((t) => t.name === name && t.language === language) ?? null);
            } catch (error) {
              if (EngageLabError.is(error) && error.kind === 'auth')
                throw new PreflightAuthError(
                  `preflight: EngageLab refused the credentials (${error.code ?? error.httpStatus} ${error.message}); nothing was enqueued`,
                );
              this.templates.set(key, { error: (error as Error).message });
            }
          }),
        )
      : [];
    const probes = [...this.links].map(([key, ref]) =>
      limit(async () => {
        this.stats.linkProbes++;
        const answer = await probe(ref.link, {
          timeoutMs: this.options.timeoutMs,
          allowPrivate: this.options.allowPrivate,
        });
        this.linkVerdicts.set(key, this.verdictOf(ref, answer));
      }),
    );
    try {
      await Promise.all([...lookups, ...probes]);
    } finally {
      client?.close();
    }
  }

  private verdictOf(ref: MediaRef, answer: Awaited<ReturnType<typeof probe>>): Verdict {
    const where = `${ref.inHeader ? 'header ' : ''}${ref.kind} ${ref.link}`;
    if (answer.kind === 'refused') return { warning: `${where}: ${answer.reason}` };
    if (answer.kind === 'unreachable')
      return this.options.strict
        ? { reject: `${where}: unreachable (${answer.reason})` }
        : { warning: `${where}: not checked, unreachable (${answer.reason})` };
    if (answer.status >= 400) return { reject: `${where}: the link answers HTTP ${answer.status}` };
    const problem = mediaProblem(ref.kind, ref.inHeader, answer.contentType, answer.bytes);
    return {
      ...(problem.reject !== undefined && { reject: `${where}: ${problem.reject}` }),
      ...(problem.warning !== undefined && { warning: `${where}: ${problem.warning}` }),
    };
  }

  /** A template's category as EngageLab's template API answered it (e.g. MARKETING); undefined when unknown. */
  categoryOf(name: string, language: string): string | undefined {
    const found = this.templates.get(templateKey(name, language));
    return found && !('error' in found) ? found.category : undefined;
  }

  /** A message's reject (the first problem) and warnings (second pass). */
  screen(message: Message): { reject?: string; warnings: string[] } {
    const warnings: string[] = [];
    if (message.body.type === 'template' && this.options.client) {
      const found = this.templates.get(templateKey(message.body.template.name, message.body.template.language));
      if (found && 'error' in found) {
        const text = `template ${message.body.template.name} (${message.body.template.language}) could not be looked up: ${found.error}`;
        if (this.options.strict) return { reject: text, warnings };
        warnings.push(text);
      } else {
        const problem = templateProblem(message.body.template, found ?? undefined);
        if (problem) return { reject: problem, warnings };
      }
    }
    for (const ref of mediaOf(message)) {
      const verdict = this.linkVerdicts.get(mediaKey(ref));
      if (verdict?.reject) return { reject: verdict.reject, warnings };
      if (verdict?.warning) warnings.push(verdict.warning);
    }
    return { warnings };
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Preflight with the worker's client settings (templates unchecked without credentials). */
export function preflightFromConfig(config: Config, strict: boolean): Preflight {
  const client =
    config.ENGAGELAB_DEV_KEY && config.ENGAGELAB_DEV_SECRET
      ? new EngageLabClient({
          baseUrl: config.ENGAGELAB_BASE_URL,
          key: config.ENGAGELAB_DEV_KEY,
          secret: config.ENGAGELAB_DEV_SECRET,
          timeoutMs: config.PREFLIGHT_TIMEOUT_MS,
          retries: config.RETRY_RETRIES,
          minRetryMs: config.RETRY_MIN_MS,
          maxRetryMs: config.RETRY_MAX_MS,
          maxSockets: config.PREFLIGHT_CONCURRENCY,
        })
      : undefined;
  return new Preflight({
    client,
    concurrency: config.PREFLIGHT_CONCURRENCY,
    timeoutMs: config.PREFLIGHT_TIMEOUT_MS,
    allowPrivate: config.PREFLIGHT_ALLOW_PRIVATE,
    strict,
  });
}
