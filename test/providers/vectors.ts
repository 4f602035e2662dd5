/** Published known-answer vectors (../../shared/reference/cloud-apis.md). */

export const HUAWEI_GUIDE_VECTOR = {
  method: 'GET',
  url: 'https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  target: '/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0',
  host: 'service.region.example.com',
  contentType: 'application/json',
  sdkDate: '20191115T033655Z',
  epochMs: Date.UTC(2019, 10, 15, 3, 36, 55),
  signedHeaders: 'content-type;host;x-sdk-date',
  accessKey: 'QTWAOYTTINDUT2QVKYUC',
  secretKey: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
  canonicalRequestHash: 'b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a',
  signature: '7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe',
} as const;

export const NCP_VECTOR = {
  method: 'POST',
  pathAndQuery: '/api/v1/cluster/resetMGMTPassword/1009123',
  timestamp: '1700000000000',
  accessKey: 'ACCESS_KEY_ID',
  secretKey: 'SECRET_KEY',
  signature: 'VMlkYhRKpqro7vcBGiZ3fFhS6mL+eZmfrao15qRWN6c=',
} as const;
