import type { Queue } from 'bullmq';
import type express from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { RedisHealth } from '../redis/health.js';
import type { StatusSources } from '../status/status.js';

/** What the dashboard app and its routes are built from (types only, so that routes and app share them). */
export interface DashboardDeps extends StatusSources {
  config: Config;
  log: Logger;
  health: RedisHealth;
  /** Extra routes (delivery callbacks) mounted before authentication. */
  publicRoutes?: (app: express.Express) => void;
  /** More queues to show in Bull Board. */
  extraQueues?: Queue[];
  /**
   * Installed before every route: the tests' check of every answer against the published contract
   * (test/helpers/contract.ts). Production passes none.
   */
  inspect?: express.RequestHandler;
  /** Calls back with the fleet's sender lanes, now and whenever they change (new lanes join Bull Board). */
  onLanes?: (listener: (lanes: string[]) => void) => void;
}
