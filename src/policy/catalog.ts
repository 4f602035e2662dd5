import type { ProviderId } from '../config/provider-ids.js';
import type { PasswordPolicy } from './types.js';

/**
 * Password rules per cloud, as data. Sources: /work/shared/reference/cloud-apis.md (which checks the
 * vendors' pages in ../seeds against their SDKs, Terraform providers and current docs).
 */

/**
 * NCP CDSS manager (CMAK) password specials. Terraform provider (ncloud) list of wanted specials:
 * ``~!@#$%^*()-_=[]{};:,.<>?``. It is also what remains after removing what NCP forbids
 * (`' " ` ₩ / &` and space, per the API page; `+` and `\` per the Terraform provider).
 */
export const NCP_SPECIALS = '~!@#$%^*()-_=[]{};:,.<>?';

/**
 * Huawei Cloud / OTC CSS specials: the English pages allow ``~!@#$%^&*()-_=+\|[{}];:,<.>/?``, Huawei's
 * Chinese page and the OTC seed (002) lack `^`, `+` and `\`. We keep the conservative intersection
 * that every published page accepts.
 */
export const CSS_SPECIALS = '~!@#$%&*()-_=|[{}];:,<.>/?';

/** cloud-apis.md, "A policy that all three accept". */
export const CROSS_CLOUD_SPECIALS = '~!@#$%*()-_=[]{};:,.<>?';

/** CSS: "not `admin` nor `admin` reversed" (cloud-apis.md §2), compared case-insensitively. */
const CSS_FORBIDDEN = ['admin', 'nimda'] as const;

export const NCP_CDSS_POLICY = {
  name: 'ncp-cdss',
  // cloud-apis.md §1: 8-20 characters (the seed 000 page states only the minimum of 8).
  minLength: 8,
  maxLength: 20,
  specials: NCP_SPECIALS,
  // Seed 000 asks for letters + digit + special; the older Korean page asks for upper AND lower case.
  requiredClasses: ['upper', 'lower', 'digit', 'special'],
  minClasses: 4,
  // No forbidden words published for NCP; forbidden characters are simply not in `specials`.
  forbiddenSubstrings: [],
} as const satisfies PasswordPolicy;

export const HUAWEICLOUD_CSS_POLICY = {
  name: 'huaweicloud-css',
  // Huawei CSS API reference (seeds 001/003): 8 to 32 characters.
  minLength: 8,
  maxLength: 32,
  specials: CSS_SPECIALS,
  // "At least 3 of upper / lower / digit / special": no single class is mandatory.
  requiredClasses: [],
  minClasses: 3,
  forbiddenSubstrings: CSS_FORBIDDEN,
} as const satisfies PasswordPolicy;

export const OTC_CSS_POLICY = {
  name: 'otc-css',
  // OTC CSS API reference (seed 002): "8 to 32 characters", "at least 3 of the following character
  // types", specials ``~!@#$%&*()-_=|[{}];:,<.>/?`` (same as the conservative Huawei set).
  minLength: 8,
  maxLength: 32,
  specials: CSS_SPECIALS,
  requiredClasses: [],
  minClasses: 3,
  forbiddenSubstrings: CSS_FORBIDDEN,
} as const satisfies PasswordPolicy;

export const PROVIDER_POLICIES: Readonly<Record<ProviderId, PasswordPolicy>> = {
  'ncp-cdss': NCP_CDSS_POLICY,
  'huaweicloud-css': HUAWEICLOUD_CSS_POLICY,
  'otc-css': OTC_CSS_POLICY,
};

/**
 * cloud-apis.md, "A policy that all three accept": 12-20 characters, one of each class, specials only
 * from ``~!@#$%*()-_=[]{};:,.<>?``, never `admin` or `nimda` in any case.
 */
export const CROSS_CLOUD_POLICY = {
  name: 'cross-cloud',
  minLength: 12,
  maxLength: 20,
  specials: CROSS_CLOUD_SPECIALS,
  requiredClasses: ['upper', 'lower', 'digit', 'special'],
  minClasses: 4,
  forbiddenSubstrings: CSS_FORBIDDEN,
} as const satisfies PasswordPolicy;
