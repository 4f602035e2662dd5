/**
 * Huawei Cloud regions with CSS, and their endpoints (cn-north-1 and cn-east-2 keep the old `es.` name).
 * Source: the official SDK's region list, huaweicloud/huaweicloud-sdk-nodejs-v3
 * `services/css/v1/CssRegion.ts` (last changed in bfc2a724, 2025-11-06; unchanged up to release
 * 3.1.209). A region missing here can still be reached by setting the target's `endpoint`.
 */
const REGIONS = [
  'ae-ad-1',
  'af-north-1',
  'af-south-1',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'cn-east-2',
  'cn-east-3',
  'cn-east-4',
  'cn-east-5',
  'cn-north-1',
  'cn-north-2',
  'cn-north-4',
  'cn-north-9',
  'cn-north-11',
  'cn-north-12',
  'cn-south-1',
  'cn-south-2',
  'cn-south-4',
  'cn-southwest-2',
  'cn-southwest-3',
  'eu-west-101',
  'la-north-2',
  'la-south-2',
  'me-east-1',
  'my-kualalumpur-1',
  'na-mexico-1',
  'ru-moscow-1',
  'sa-brazil-1',
  'tr-west-1',
] as const;

const LEGACY_ES = new Set<string>(['cn-north-1', 'cn-east-2']);

export const HUAWEI_CSS_REGIONS: Readonly<Record<string, string>> = Object.fromEntries(
  REGIONS.map((r) => [r, `https://${LEGACY_ES.has(r) ? 'es' : 'css'}.${r}.myhuaweicloud.com`]),
);
