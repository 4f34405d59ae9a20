import type { Priority } from '../campaigns/options.js';
import type { JobPlacement } from '../scripts/index.js';

/** The BullMQ priority of a low-priority message's job (taken when no other job waits). */
export const LOW_PRIORITY = 10;

/**
 * Where a job of each campaign priority goes in its lane's queue (src/scripts/includes/bullmq-job.lua): high
 * is a LIFO job (taken before the waiting ones), normal a FIFO one, low a prioritized one.
 */
export const PLACEMENT: Readonly<Record<Priority, JobPlacement>> = { high: 'lifo', normal: 'fifo', low: LOW_PRIORITY };
