/**
 * wa-bulk as a library: validate and enqueue messages from your own code, read results, run a worker.
 *
 *   import { loadConfig, createProducer } from 'wa-bulk';
 *   const producer = await createProducer(loadConfig());
 *   const summary = await producer.enqueue('spring', [{ to: '+447911123456', body: { type: 'text', text: { body: 'Hi' } } }]);
 *   await producer.close();
 */
import { enqueue, type EnqueueSummary } from '../producers/enqueue.js';
import { itemsOfArray } from '../producers/jsonl-reader.js';
import { openContext } from './cli/context.js';
import type { Config } from './config.js';
import type { CampaignCounts, MessageRecord } from './ledger/ledger.js';
import { campaignId, requestId } from './messages/ids.js';

export { loadConfig, ConfigError, type Config } from './config.js';
export { validateMessage, validateJson } from './messages/validate.js';
export type { Message, MessageInput } from './messages/schema.js';
export { startSendWorker, type SendWorker } from '../workers/send-worker.js';
/** Follow-up rules come due only where one runs (`wa-bulk worker` starts one beside its send worker). */
export { startFollowupWorker } from '../workers/followup-worker.js';
export { Simulator, type SimulatorOptions } from './simulator/simulator.js';
export { createLogger } from './log.js';
/** Spans through the OpenTelemetry provider you registered (the command line starts its own from OTEL_*). */
export { enableTracing } from './telemetry/traces.js';
export type { EnqueueSummary, MessageRecord, CampaignCounts };
/** What enqueue throws, nothing read or written, for a cancelled campaign. */
export { CampaignClosedError } from '../producers/campaign-open.js';

export interface Producer {
  /** Validates and enqueues; items are numbered from 1 in the rejects. A cancelled campaign: CampaignClosedError. */
  enqueue(campaign: string, messages: unknown[]): Promise<EnqueueSummary>;
  result(requestId: string): Promise<MessageRecord | undefined>;
  campaign(id: string): Promise<CampaignCounts | undefined>;
  close(): Promise<void>;
}

export async function createProducer(config: Config): Promise<Producer> {
  const ctx = await openContext(config);
  return {
    async enqueue(campaign, messages) {
      campaignId(campaign, 'campaign');
      return enqueue(itemsOfArray(messages), { campaign, ledger: ctx.ledger, queue: ctx.send, waFrom: config.WA_FROM });
    },
    result: (id) => ctx.ledger.get(requestId(id, 'request_id')),
    campaign: (id) => ctx.ledger.campaign(campaignId(id, 'campaign')),
    close: () => ctx.close(),
  };
}
