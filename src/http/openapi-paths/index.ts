import { ACCESS_ROUTES } from './access.js';
import { CAMPAIGN_ROUTES } from './campaigns.js';
import { FOLLOWUP_ROUTES } from './followups.js';
import { HEALTH_ROUTES } from './health.js';
import type { RouteDoc } from './shared.js';
import { WEBHOOK_ROUTES } from './webhooks.js';

export type { Answer, Method, RouteDoc } from './shared.js';

/**
 * Every route of the dashboard as the contract describes it, in OpenAPI's path syntax. openapi.ts adds to
 * each the role it needs (from route-roles.ts, the table the access middleware reads), the security schemes
 * and the answers every authenticated route may give (401, 403, 429, 503, 500).
 */
export const ROUTE_DOCS: readonly RouteDoc[] = [
  ...CAMPAIGN_ROUTES,
  ...FOLLOWUP_ROUTES,
  ...WEBHOOK_ROUTES,
  ...HEALTH_ROUTES,
  ...ACCESS_ROUTES,
];
