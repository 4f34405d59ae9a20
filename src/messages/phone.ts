import { parsePhoneNumberFromString, validatePhoneNumberLength } from 'libphonenumber-js/min';
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

/**
 * What is wrong with a number (digits, country code first) for WhatsApp, or undefined when it is a valid
 * number of some country: libphonenumber's metadata per country (the "min" set: lengths and leading digits,
 * enough to refuse +999 … and +1 000 …, at a fraction of the full set's cost per number).
 */
export function phoneProblem(digits: string): string | undefined {
  const e164 = `+${digits}`;
  const length = validatePhoneNumberLength(e164);
  if (length === 'INVALID_COUNTRY') return `no country has the calling code of ${e164} (+${digits.slice(0, 3)}…)`;
  const number = parsePhoneNumberFromString(e164);
  const where = number ? `${number.country ?? 'its country'} (+${number.countryCallingCode})` : 'its country';
  if (length === 'TOO_SHORT' || length === 'NOT_A_NUMBER') return `too short for a number of ${where}`;
  if (length === 'TOO_LONG') return `too long for a number of ${where}`;
  if (!number || !number.isValid()) return `not a valid number of ${where}: no such area or network code`;
  return undefined;
}
