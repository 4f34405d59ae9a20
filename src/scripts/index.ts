/**
 * wa-bulk's Redis scripts, each called through the typed function beside its `.lua` file (named fields in,
 * a named reply out); ./loader.ts registers them on a client and says how the two agree.
 */
export * from './apply-deliveries.js';
export * from './apply-delivery.js';
export * from './cancel-messages.js';
export * from './create-followup.js';
export * from './enqueue-messages.js';
export * from './grant-sends.js';
export * from './learn-message-id.js';
export * from './link-users.js';
export * from './mark-done.js';
export * from './move-followup.js';
export * from './move-funnel.js';
export * from './record-rejects.js';
export * from './regrant-sends.js';
export * from './remove-message.js';
export * from './reserve-marketing.js';
export * from './report-outcome.js';
export * from './revive-message.js';
export * from './settle-messages.js';
export * from './ungrant-sends.js';
export * from './take-due-retries.js';
