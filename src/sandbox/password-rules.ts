/**
 * The sandbox's own copy of each cloud's documented password rules (cloud-apis.md), kept apart from
 * src/policy on purpose: a policy bug must be caught here, not mirrored.
 */

export interface RuleViolation {
  /** The vendor code the cloud answers with (CSS) or the sandbox's documented assumption (NCP). */
  code: string;
  message: string;
}

/** Specials on every published CSS page (the English pages add ^ + \; the sandbox is strict). */
const CSS_SPECIALS = '~!@#$%&*()-_=|[{}];:,<.>/?';
/** NCP's Terraform provider list; ' " ` ₩ / & space + \ are forbidden. */
const NCP_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';

function classesOf(
  pw: string,
  specials: string,
): { upper: boolean; lower: boolean; digit: boolean; special: boolean; other: string[] } {
  const seen = { upper: false, lower: false, digit: false, special: false, other: [] as string[] };
  for (const ch of pw) {
    if (ch >= 'A' && ch <= 'Z') seen.upper = true;
    else if (ch >= 'a' && ch <= 'z') seen.lower = true;
    else if (ch >= '0' && ch <= '9') seen.digit = true;
    else if (specials.includes(ch)) seen.special = true;
    else seen.other.push(ch);
  }
  return seen;
}

/** Huawei Cloud / OTC CSS `admin` password: 400 CSS.0050 for invalid, CSS.2026 for weak. */
export function checkCssPassword(pw: string): RuleViolation | undefined {
  const length = [...pw].length;
  if (length < 8 || length > 32) {
    return {
      code: 'CSS.0050',
      message: 'CSS.0050 : Invalid password. The password must contain 8 to 32 characters.',
    };
  }
  const c = classesOf(pw, CSS_SPECIALS);
  if (c.other.length > 0) {
    return {
      code: 'CSS.0050',
      message: 'CSS.0050 : Invalid password. The password contains characters that are not allowed.',
    };
  }
  const kinds = [c.upper, c.lower, c.digit, c.special].filter(Boolean).length;
  if (kinds < 3) {
    return {
      code: 'CSS.2026',
      message:
        'CSS.2026 : Weak password. Use at least three of: uppercase, lowercase, digits, special characters.',
    };
  }
  const lower = pw.toLowerCase();
  if (lower.includes('admin') || lower.includes('nimda')) {
    return {
      code: 'CSS.2026',
      message: 'CSS.2026 : Weak password. The password cannot contain the username or the username reversed.',
    };
  }
  return undefined;
}

/**
 * NCP CDSS manager password: 8-20, upper + lower + digit + special. CDSS's error shape is UNKNOWN;
 * the sandbox ASSUMES HTTP 400 `{"code":1001,"message":"Invalid kafkaManagerUserPassword: ..."}`.
 */
export function checkNcpPassword(pw: string): RuleViolation | undefined {
  const bad = (why: string) => ({ code: '1001', message: `Invalid kafkaManagerUserPassword: ${why}` });
  const length = [...pw].length;
  if (length < 8 || length > 20) return bad('must be 8 to 20 characters');
  const c = classesOf(pw, NCP_SPECIALS);
  if (c.other.length > 0) return bad('contains a character that is not allowed');
  if (!(c.upper && c.lower && c.digit && c.special)) {
    return bad('must contain an uppercase letter, a lowercase letter, a digit and a special character');
  }
  return undefined;
}
