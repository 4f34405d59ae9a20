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
