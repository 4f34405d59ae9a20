import type { TemplateInfo } from '../engagelab/client.js';
import type { SimulatorOptions } from './options.js';

/**
 * The simulator's answer to GET /v1/templates: its catalog (templateCatalog), or, with only names
 * (templates) or none, an APPROVED entry without components for what is asked (so preflight checks existence
 * and status, not variables).
 */
export function templatesFor(
  query: URLSearchParams,
  options: Pick<SimulatorOptions, 'templateCatalog' | 'templates'>,
): TemplateInfo[] {
  const name = query.get('name') ?? '';
  const language = query.get('language_code');
  const catalog: TemplateInfo[] =
    options.templateCatalog ??
    (options.templates ?? (name ? [name] : [])).map((n) => ({
      id: n,
      name: n,
      language: language ?? 'en',
      status: 'APPROVED',
      category: 'UTILITY',
    }));
  return catalog.filter((t) => t.name.includes(name) && (!language || t.language === language));
}
