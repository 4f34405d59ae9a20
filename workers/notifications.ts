import type { CallbackRow } from '../src/engagelab/callbacks.js';

/**
 * EngageLab's notification rows (balance, account, template and phone-number updates): what each means for
 * sending. The callback worker acts on the answer (a fleet pause, the control hash's messaging limit).
 */

/**
 * The messaging limit a tier of EngageLab's phone_number_update names (TIER_50 … TIER_UNLIMITED, and the
 * newer 2K), as MESSAGING_LIMIT=auto uses it: distinct recipients in a moving 24 hours; -1 is unlimited.
 */
export function tierLimit(tier: string): number | undefined {
  if (tier === 'TIER_UNLIMITED') return -1;
  const match = /^TIER_(\d+)(K?)$/.exec(tier);
  if (!match) return undefined;
  return Number(match[1]) * (match[2] === 'K' ? 1000 : 1);
}

/** What a notification row means for sending: a reason to pause, something to record, or nothing. */
export function notificationEffect(
  row: CallbackRow,
  templatesInUse: (name: string, language: string | undefined) => boolean | Promise<boolean>,
): Promise<{ pause?: string; record?: Record<string, string> }> {
  return (async () => {
    const n = row.notification;
    if (!n) return {};
    const data = (n.notification_data ?? {}) as Record<string, unknown>;
    const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
    switch (n.event) {
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
        return {
          record: {
            phone_limit: tier,
            phone_limit_at: String(Date.now()),
            ...(limit !== undefined && { messaging_limit: String(limit) }),
          },
        };
      }
      default:
        return {};
    }
  })();
}
