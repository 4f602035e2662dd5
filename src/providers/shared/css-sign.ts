import type { ResolvedCredentials } from '../types.js';
import { signSdkHmacSha256 } from './sdk-hmac-sha256.js';

export interface CssRequestToSign {
  method: 'GET' | 'POST';
  url: string;
  projectId: string;
  /** Exact bytes sent (empty for GET). */
  body: Uint8Array;
}

/**
 * Headers for a CSS call on Huawei Cloud or OTC (same gateway, same scheme). AK/SK signs
 * `content-type;host;x-project-id;x-sdk-date`; an IAM token goes in `X-Auth-Token` instead.
 * Pure. Undefined when neither AK/SK nor a token is available.
 */
export function signCssRequest(
  req: CssRequestToSign,
  credentials: ResolvedCredentials,
  nowMs: number,
): Record<string, string> | undefined {
  const headers = { 'Content-Type': 'application/json', 'X-Project-Id': req.projectId };
  if (credentials.token) return { ...headers, 'X-Auth-Token': credentials.token };
  if (!credentials.accessKey || !credentials.secretKey) return undefined;
  return signSdkHmacSha256(
    { method: req.method, url: req.url, headers, body: req.body },
    { accessKey: credentials.accessKey, secretKey: credentials.secretKey },
    nowMs,
  ).headers;
}
