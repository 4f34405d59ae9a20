import type express from 'express';
import { CampaignOptionError, QUERY_NAMES, campaignOptions, type CampaignOptions } from '../src/campaigns/options.js';
import { BodyError, MAX_BODY_BYTES, limited, mediaType, readJson, tooLarge } from '../src/http/body.js';
import { enqueueQuerySchema } from '../src/http/request-schemas.js';
import type { DashboardDeps } from '../src/http/deps.js';
import { parseQuery } from '../src/http/input.js';
import { campaignId } from '../src/messages/ids.js';
import { readRateCard, type Rate } from '../src/preflight/cost.js';
import { PreflightAuthError, preflightFromConfig, type Preflight } from '../src/preflight/preflight.js';
import { enqueue, scan, type SourceItem } from './enqueue.js';
import { itemsOfArray, readJsonl } from './jsonl-reader.js';

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);

/**
 * The HTTP producer: `POST /api/campaigns/:id/messages` with a JSON array or NDJSON (one message a line),
 * at most MAX_BODY_BYTES; the campaign options come as query parameters (QUERY_NAMES), preflight runs unless
 * `preflight=false`. Answers enqueue's summary, as `wa-bulk enqueue --json` prints it.
 */
export function ingestRoute(app: express.Express, deps: DashboardDeps): void {
  const { config } = deps;
  app.post('/api/campaigns/:id/messages', async (req, res) => {
    const campaign = campaignId(req.params.id, 'campaign id');
    const type = mediaType(req.headers['content-type']);
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      res.status(413).json({ error: tooLarge('request body', MAX_BODY_BYTES).message });
      return;
    }
    const query = parseQuery(enqueueQuerySchema, req);
    let control: CampaignOptions;
    let notes: string[];
    try {
      ({ options: control, notes } = campaignOptions(
        {
          at: query.at,
          sendWindow: query.send_window,
          expiresIn: query.expires_in,
          expiresAt: query.expires_at,
          priority: query.priority,
        },
        QUERY_NAMES,
      ));
    } catch (error) {
      if (!(error instanceof CampaignOptionError)) throw error;
      res.status(400).json({ error: error.message });
      return;
    }
    const withPreflight = query.preflight !== 'false';
    let items: Iterable<SourceItem> | AsyncIterable<SourceItem>;
    try {
      if (type === 'application/json') {
        const value = await readJson(req, MAX_BODY_BYTES);
        if (!Array.isArray(value)) {
          res.status(400).json({
            error: 'body must be a JSON array of messages (or NDJSON with Content-Type application/x-ndjson)',
          });
          return;
        }
        items = [...itemsOfArray(value)];
      } else if (NDJSON_TYPES.has(type)) {
        items = readJsonl(limited(req, MAX_BODY_BYTES));
        // Preflight reads the messages twice: keep them (the body is at most MAX_BODY_BYTES).
        if (withPreflight) {
          const kept: SourceItem[] = [];
          for await (const item of items) kept.push(item);
          items = kept;
        }
      } else {
        res.status(415).json({
          error: 'Content-Type must be application/json (an array) or application/x-ndjson (one message per line)',
        });
        return;
      }
      let preflight: Preflight | undefined;
      if (withPreflight) {
        preflight = preflightFromConfig(config, false);
        await scan(items as Iterable<SourceItem>, preflight);
      }
      const summary = await enqueue(items, {
        campaign,
        ledger: deps.ledger,
        queue: deps.send,
        waFrom: config.WA_FROM,
        control,
        preflight,
        rateCard: rateCardOf(config.RATE_CARD_FILE, notes),
      });
      if (preflight && preflight.notes.length > 0) notes.push(...preflight.notes);
      res.json(notes.length > 0 ? { ...summary, notes } : summary);
    } catch (error) {
      if (error instanceof BodyError) {
        res.status(error.status).json({ error: error.message });
        return;
      }
      if (error instanceof PreflightAuthError) {
        res.status(502).json({ error: error.message });
        return;
      }
      throw error;
    }
  });
}

/**
 * RATE_CARD_FILE's rates for the campaign's estimate, read at each request (an edited card counts at once); a
 * card that cannot be read costs the estimate only, with a note, not the enqueue.
 */
function rateCardOf(file: string | undefined, notes: string[]): Rate[] | undefined {
  if (!file) return undefined;
  try {
    return readRateCard(file);
  } catch (error) {
    notes.push(`no cost estimate: ${(error as Error).message}`);
    return undefined;
  }
}
