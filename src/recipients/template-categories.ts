import type { TemplateInfo } from '../engagelab/client.js';

/** How long a worker process trusts a template's category before asking EngageLab again. */
export const CATEGORY_TTL_MS = 10 * 60_000;

/**
 * A template's category (MARKETING, UTILITY, AUTHENTICATION) as EngageLab's Template Management API answers it,
 * asked once per name and language and kept CATEGORY_TTL_MS in the process, so that a send costs no request
 * for it (Meta may change a template's category; the next look after the TTL sees it). Lookups of one template
 * at the same moment share one request.
 *
 * A template the API does not list, or lists without a category, is taken as MARKETING: marketing fatigue then
 * errs towards sending less, never more. A failed lookup is not cached and rejects: the caller waits and asks
 * again rather than guess.
 */
export class TemplateCategories {
  private readonly known = new Map<string, { category: string; until: number }>();
  private readonly asking = new Map<string, Promise<string>>();

  constructor(
    private readonly lookup: (query: { name: string; language_code: string }) => Promise<TemplateInfo[]>,
    private readonly ttlMs = CATEGORY_TTL_MS,
  ) {}

  async of(name: string, language: string): Promise<string> {
    const key = `${name}\u0000${language}`;
    const cached = this.known.get(key);
    if (cached && cached.until > Date.now()) return cached.category;
    let pending = this.asking.get(key);
    if (!pending) {
      pending = this.lookup({ name, language_code: language })
        .then((found) => {
          // `name` is a fuzzy match in the API: the exact template is picked here.
          const info = found.find((t) => t.name === name && t.language === language);
          const category = typeof info?.category === 'string' ? info.category.toUpperCase() : 'MARKETING';
          this.known.set(key, { category, until: Date.now() + this.ttlMs });
          return category;
        })
        .finally(() => this.asking.delete(key));
      this.asking.set(key, pending);
    }
    return pending;
  }
}
