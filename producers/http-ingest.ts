import type express from 'express';
import { CampaignOptionError, QUERY_NAMES, campaignOptions, type CampaignOptions } from '../src/campaigns/options.js';
import { BodyError, MAX_BODY_BYTES, limited, mediaType, readJson, tooLarge } from '../src/http/body.js';
import { enqueueQuerySchema } from '../src/http/request-schemas.js';
import type { DashboardDeps } from '../src/http/deps.js';
import { parseQuery } from '../src/http/input.js';
import { campaignId } from '../src/messages/ids.js';
import { readRateCard, type Rate } from '../src/preflight/cost.js';
import { PreflightAuthError, preflightFromConfig, type Preflight } from '../src/preflight/preflight.js';
import { enqueue, nothingTaken, scan, type EnqueueSummary, type SourceItem } from './enqueue.js';
import { CampaignClosedError, assertEnqueueable } from './campaign-open.js';
import { itemsOfArray, readJsonl } from './jsonl-reader.js';

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);

/**
 * The HTTP producer: `POST /api/campaigns/:id/messages` with a JSON array or NDJSON (one message a line),
 * at most MAX_BODY_BYTES; the campaign options come as query parameters (QUERY_NAMES), preflight runs unless
 * `preflight=false`. Answers enqueue's summary, as `wa-bulk enqueue --json` prints it.
 *
 * A body over the limit is answered 413 with that same summary and `last_line`, the last line taken: NDJSON
 * read as it streams in (`preflight=false`) has its lines before the limit enqueued by the time the limit is
 * met, and the client resends from the line after (request_ids make a line sent twice a duplicate); any other
 * body over the limit (a Content-Length over it, a JSON array, NDJSON held for preflight) has nothing taken,
 * `last_line` 0. A cancelled campaign is refused (409) before the body is read.
 */
export function ingestRoute(app: express.Express, deps: DashboardDeps): void {
  const { config } = deps;
  app.post('/api/campaigns/:id/messages', async (req, res) => {
    const campaign = campaignId(req.params.id, 'campaign id');
    const type = mediaType(req.headers['content-type']);
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      refuseTooLarge(res, tooLargeAnswer(tooLarge('request body', MAX_BODY_BYTES), nothingTaken(campaign), 0));
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
    // Where a streamed body went over its limit, if it did, and the last line taken before.
    const cut: Cut = { lastLine: 0 };
    let items: Iterable<SourceItem> | AsyncIterable<SourceItem>;
    try {
      await assertEnqueueable(deps.ledger, campaign);
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
        items = untilTooLarge(readJsonl(limited(req, MAX_BODY_BYTES)), cut);
        // Preflight reads the messages twice: keep them (the body is at most MAX_BODY_BYTES).
        if (withPreflight) {
          const kept: SourceItem[] = [];
          for await (const item of items) kept.push(item);
          // Held whole, so none of it is taken.
          if (cut.tooLarge) throw cut.tooLarge;
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
      const answer = notes.length > 0 ? { ...summary, notes } : summary;
      if (cut.tooLarge) refuseTooLarge(res, tooLargeAnswer(cut.tooLarge, answer, cut.lastLine));
      else res.json(answer);
    } catch (error) {
      if (error instanceof CampaignClosedError) {
        // Answered before the body is read: the connection is closed, as after a 413.
        res
          .status(409)
          .set('Connection', 'close')
          .json({ error: error.message, campaign: error.campaign, state: error.state });
        return;
      }
      if (error instanceof BodyError) {
        if (error.status === 413) refuseTooLarge(res, tooLargeAnswer(error, nothingTaken(campaign), 0));
        else res.status(error.status).json({ error: error.message });
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

interface Cut {
  lastLine: number;
  tooLarge?: BodyError;
}

/**
 * A streamed body's items until it goes over its limit; then they end, as if the body had, with `cut.tooLarge`
 * set. Only whole lines come before: the line the limit falls in is never read (readline gives a line at its
 * end of line, or at the end of the body, which an error is not).
 */
async function* untilTooLarge(items: AsyncIterable<SourceItem>, cut: Cut): AsyncGenerator<SourceItem> {
  try {
    for await (const item of items) {
      cut.lastLine = item.line;
      yield item;
    }
  } catch (error) {
    if (!(error instanceof BodyError) || error.status !== 413) throw error;
    cut.tooLarge = error;
  }
}

/**
 * Answers a 413 and closes the connection: the rest of the body is still on its way, and a client that sent
 * the next request on the same connection would wait behind it.
 */
function refuseTooLarge(res: express.Response, answer: ReturnType<typeof tooLargeAnswer>): void {
  res.status(413).set('Connection', 'close').json(answer);
}

/** A 413: why, what was taken (the 200 answer's summary), and the last line taken (0: none). */
function tooLargeAnswer(error: BodyError, summary: EnqueueSummary & { notes?: string[] }, lastLine: number) {
  const resend = lastLine > 0 ? `; lines 1 to ${lastLine} were taken, resend from line ${lastLine + 1}` : '';
  return { error: `${error.message}${resend}`, ...summary, last_line: lastLine };
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
