export const CHAR_CLASSES = ['upper', 'lower', 'digit', 'special'] as const;
export type CharClass = (typeof CHAR_CLASSES)[number];

/** What a cloud accepts as a password, as data. */
export interface PasswordPolicy {
  /** Human-readable name used in errors and logs (e.g. `ncp-cdss`, `otc-css narrowed by target x`). */
  name?: string;
  minLength: number;
  maxLength: number;
  /** The special characters allowed (and drawn from). Letters and digits are always ASCII A-Z a-z 0-9. */
  specials: string;
  /** Classes that must each appear at least once. */
  requiredClasses: readonly CharClass[];
  /** At least this many of the four classes must appear. */
  minClasses: number;
  /** Substrings that must not appear, compared case-insensitively. */
  forbiddenSubstrings: readonly string[];
}
