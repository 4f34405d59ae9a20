import { z } from 'zod';
import { int, parseNetworks } from './fields.js';

/** Reverse proxies to trust for a client's address: a number of hops from 0 to 10, or their networks. */
function trustedProxies() {
  return z
    .union([z.number(), z.string()])
    .transform((value, ctx): number | string[] => {
      const text = String(value).trim();
      if (!/^\d+$/.test(text)) return parseNetworks(text, ctx);
      if (Number(text) > 10)
        ctx.addIssue({ code: 'custom', message: 'expected a number of proxy hops from 0 to 10, or their networks' });
      return Number(text);
    })
    .default(0);
}

/** The dashboard and HTTP API: where it listens, who may call it, and where delivery callbacks may come from. */
export const dashboardVariables = {
  DASHBOARD_HOST: z.string().min(1).default('127.0.0.1'),
  DASHBOARD_PORT: int(0, 65_535).default(3000),
  DASHBOARD_USER: z.string().min(1).default('admin'),
  DASHBOARD_PASSWORD: z.string().min(12, { error: 'expected at least 12 characters' }).optional(),
  /** Requests a second one API key may make (all dashboard processes together); a key may set its own. */
  API_KEY_RATE: int(1, 100_000).default(50),
  /** One token, or two separated by a comma while the URL EngageLab calls is changed (the first is current). */
  CALLBACK_TOKEN: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,}(,[A-Za-z0-9_-]{16,})?$/, {
      error: 'expected one or two (comma-separated) tokens of at least 16 letters, digits, "_" or "-"',
    })
    .optional(),
  /** Where delivery callbacks may come from: none (any source), or these networks. */
  CALLBACK_ALLOW_FROM: z
    .string()
    .transform((value, ctx) => {
      const list = parseNetworks(value, ctx);
      return list.length > 0 ? list : undefined;
    })
    .optional(),
  /**
   * How a callback's source is found behind reverse proxies: a number of proxy hops (the address that many
   * entries from the right of X-Forwarded-For), or the proxies' networks (hops from them are skipped).
   */
  CALLBACK_TRUSTED_PROXIES: trustedProxies(),
  /**
   * The same for the dashboard's own clients (the throttle of refused credentials counts by client): the reverse
   * proxy in front of the dashboard, as hops or networks; 0, the socket's address.
   */
  DASHBOARD_TRUSTED_PROXIES: trustedProxies(),
};
