import type { ProviderId } from '../providers/ids.js';
import type { PasswordPolicy } from './types.js';

/*
 * TEMPORARY copy written on the providers branch so the providers compile; the policy helper owns
 * this file and the lead takes their version at merge. Values from cloud-apis.md.
 */

/** Each cloud's own password rules (a target may narrow them). */
export const PROVIDER_POLICIES: Record<ProviderId, PasswordPolicy> = {
  // 8-20, upper + lower + digit + special; specials from NCP's Terraform list (no ' " ` ₩ / & space + \).
  'ncp-cdss': {
    minLength: 8,
    maxLength: 20,
    specials: '~!@#$%^*()-_=[]{};:,.<>?',
    requiredClasses: ['upper', 'lower', 'digit', 'special'],
    minClasses: 4,
    forbiddenSubstrings: [],
  },
  // 8-32, 3 of 4 classes; specials common to every published page (without ^ + \).
  'huaweicloud-css': {
    minLength: 8,
    maxLength: 32,
    specials: '~!@#$%&*()-_=|[{}];:,<.>/?',
    requiredClasses: [],
    minClasses: 3,
    forbiddenSubstrings: ['admin', 'nimda'],
  },
  'otc-css': {
    minLength: 8,
    maxLength: 32,
    specials: '~!@#$%&*()-_=|[{}];:,<.>/?',
    requiredClasses: [],
    minClasses: 3,
    forbiddenSubstrings: ['admin', 'nimda'],
  },
};
