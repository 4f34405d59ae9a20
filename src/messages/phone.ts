import { parsePhoneNumberFromString, validatePhoneNumberLength } from 'libphonenumber-js/min';
import metadata from 'libphonenumber-js/metadata.min.json';
/**
 * WhatsApp numbers are international (E.164: country code + subscriber number, at most 15 digits).
 * EngageLab's examples write them as "+8613800138000", "8613800138000" and "00447911123456"; wa-bulk
 * sends them as digits only, so one recipient always has one spelling (and one request_id).
 */
const SEPARATORS = /[\s().-]/g;
const DIGITS = /^[1-9][0-9]{6,14}$/;

export function normalisePhone(input: string): string | undefined {
  let value = input.replace(SEPARATORS, '');
  if (value.startsWith('+')) value = value.slice(1);
  else if (value.startsWith('00')) value = value.slice(2);
  return DIGITS.test(value) ? value : undefined;
}

/** For logs: keeps the country code's first digits and the last two, e.g. 4479*******56. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  if (digits.length <= 6) return '*'.repeat(digits.length);
  return digits.slice(0, 4) + '*'.repeat(digits.length - 6) + digits.slice(-2);
}

/** The countries of a calling code, its main one first ("US, AG, AI, …" for +1), for a message. */
function countriesOf(callingCode: string): string {
  const list =
    (metadata as { country_calling_codes: Record<string, string[]> }).country_calling_codes[callingCode] ?? [];
  return list.length > 3 ? `${list.slice(0, 3).join(', ')}, …` : list.join(', ') || 'its country';
}

/**
 * What is wrong with a number (digits, country code first) for WhatsApp, said to follow the number ("has a
 * calling code no country uses", "is too short for …"), or undefined when it is a valid
 * number of some country: libphonenumber's metadata per country (the "min" set: lengths and leading digits,
 * enough to refuse +999 … and +1 000 …, at a fraction of the full set's cost per number).
 */
export function phoneProblem(digits: string): string | undefined {
  // Numbering plans allocate by prefix: numbers of one length and one first 9 digits share a verdict.
  // A campaign's recipients come from few ranges, so most numbers cost a Map lookup (bounded).
  const key = `${digits.length}:${digits.slice(0, 9)}`;
  const known = verdicts.get(key);
  if (known !== undefined) return known === '' ? undefined : known;
  const problem = judge(digits);
  if (verdicts.size >= 100_000) verdicts.clear();
  verdicts.set(key, problem ?? '');
  return problem;
}

const verdicts = new Map<string, string>();

function judge(digits: string): string | undefined {
  const e164 = `+${digits}`;
  const length = validatePhoneNumberLength(e164);
  if (length === 'INVALID_COUNTRY') return `has a calling code no country uses (+${digits.slice(0, 3)}…)`;
  const number = parsePhoneNumberFromString(e164);
  const code = number?.countryCallingCode;
  const where = code ? `${number?.country ?? countriesOf(code)} (+${code})` : 'its country';
  if (length === 'TOO_SHORT' || length === 'NOT_A_NUMBER') return `is too short for a number of ${where}`;
  if (length === 'TOO_LONG') return `is too long for a number of ${where}`;
  if (!number || !number.isValid()) return `is not a valid number of ${where}: no such area or network code`;
  return undefined;
}

/**
 * The country (ISO 3166-1 alpha-2) of a number's calling code, for pricing: Meta prices template messages by
 * calling code, so a code several countries share counts as its main one (+1 as US, +44 as GB, +7 as RU);
 * 'unknown' when the digits start with no calling code. Cached by prefix as phoneProblem is.
 */
export function countryOf(digits: string): string {
  const key = digits.slice(0, 3);
  const known = countries.get(key);
  if (known !== undefined) return known;
  const codes = (metadata as { country_calling_codes: Record<string, string[]> }).country_calling_codes;
  const code = [1, 2, 3].map((n) => digits.slice(0, n)).find((prefix) => codes[prefix] !== undefined);
  const country = (code && codes[code]?.[0]) || 'unknown';
  countries.set(key, country);
  return country;
}

const countries = new Map<string, string>();
