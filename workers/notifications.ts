import { CALLBACK_PAUSE_PREFIX } from '../src/lanes/fleet.js';
import type { CallbackRow } from '../src/engagelab/callbacks.js';

/**
 * EngageLab's notification rows (balance, account, template and phone-number updates): what each means for
 * sending. The callback worker acts on the answer (a fleet pause, the control hash's messaging limit).
 */

/**
 * The messaging limit each tier of EngageLab's phone_number_update names (Meta's tiers, the older ones
 * included, and the newer 2K), as MESSAGING_LIMIT=auto uses it: distinct recipients in a moving 24 hours;
 * -1 is unlimited. A tier outside this list (a forged `TIER_0`, a typo) is never taken as a limit.
 */
const TIERS: Readonly<Record<string, number>> = {
  TIER_50: 50,
  TIER_250: 250,
  TIER_1K: 1000,
  TIER_2K: 2000,
  TIER_10K: 10_000,
  TIER_100K: 100_000,
  TIER_UNLIMITED: -1,
};

export function tierLimit(tier: string): number | undefined {
  return Object.hasOwn(TIERS, tier) ? TIERS[tier] : undefined;
}

/** EngageLab's notification events; any other name is counted as `unknown` (no metric series per name). */
const EVENTS = new Set(['insufficient_balance', 'template_update', 'phone_number_update', 'whatsapp_business_update']);

export function notificationEventName(event: string): string {
  return EVENTS.has(event) ? event : 'unknown';
}

/** What a callback may write into a pause reason: printable, and short. */
function bounded(value: unknown): string {
  const text = value === undefined || value === null ? '' : String(value);
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 64);
}

/** What a notification means: a reason to pause, something to record, or that it named a tier outside Meta's list. */
export interface NotificationEffect {
  pause?: string;
  record?: Record<string, string>;
  unknownTier?: true;
}

/** What a notification row means for sending: a reason to pause, something to record, or nothing. */
export function notificationEffect(
  row: CallbackRow,
  templatesInUse: (name: string, language: string | undefined) => boolean | Promise<boolean>,
): Promise<NotificationEffect> {
  return (async () => {
    const n = row.notification;
    if (!n) return {};
    const data = (n.notification_data ?? {}) as Record<string, unknown>;
    const text = bounded;
    const effect = await effectOf(n.event, data, text, templatesInUse);
    // A fleet stop that a callback caused says so: EngageLab signs nothing, and the URL's token is all a
    // forger lacks (the operator's guide to recovering from forged notifications starts from this reason).
    return effect.pause ? { ...effect, pause: `${CALLBACK_PAUSE_PREFIX}${effect.pause}` } : effect;
  })();
}

async function effectOf(
  event: string,
  data: Record<string, unknown>,
  text: (value: unknown) => string,
  templatesInUse: (name: string, language: string | undefined) => boolean | Promise<boolean>,
): Promise<NotificationEffect> {
  {
    switch (event) {
      case 'insufficient_balance':
        return {
          pause: `insufficient_balance: EngageLab balance ${text(data.remain_balance)} is below ${text(data.balance_threshold)}`,
        };
      case 'whatsapp_business_update': {
        const event = text(data.waba_event);
        if (event === 'DISABLED_UPDATE' || event === 'ACCOUNT_VIOLATION')
          return { pause: `whatsapp_business_update: ${event}` };
        return {};
      }
      case 'template_update': {
        const status = text(data.template_status);
        const name = text(data.template_name);
        const language = data.template_language === undefined ? undefined : text(data.template_language);
        if (['PAUSED', 'DISABLED', 'REJECTED'].includes(status) && (await templatesInUse(name, language))) {
          return { pause: `template_update: ${name}${language ? ` (${language})` : ''} is ${status}` };
        }
        return {};
      }
      case 'phone_number_update': {
        const tier = text(data.current_limit);
        const limit = tierLimit(tier);
        // An unknown tier is not recorded: it would show as the number's tier and could hold every template.
        if (limit === undefined) return { unknownTier: true };
        return { record: { phone_limit: tier, phone_limit_at: String(Date.now()), messaging_limit: String(limit) } };
      }
      default:
        return {};
    }
  }
}
