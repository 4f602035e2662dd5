import { createHmac } from 'node:crypto';

/** NCP API Gateway signature v2. Pure; the time is a parameter. */

export interface NcpSignInput {
  method: string;
  /** Path plus `?query` exactly as sent; no scheme or host. */
  pathAndQuery: string;
  /** Epoch milliseconds as a decimal string; must equal the header. */
  timestamp: string;
  accessKey: string;
  secretKey: string;
}

export function ncpStringToSign(i: Omit<NcpSignInput, 'secretKey'>): string {
  return `${i.method.toUpperCase()} ${i.pathAndQuery}\n${i.timestamp}\n${i.accessKey}`;
}

export function ncpSignatureV2(input: NcpSignInput): string {
  return createHmac('sha256', input.secretKey).update(ncpStringToSign(input)).digest('base64');
}

/** The three auth headers for a request to `url` at `nowMs`. The body is not signed. */
export function signNcpRequest(
  method: string,
  url: string,
  credentials: { accessKey: string; secretKey: string },
  nowMs: number,
): Record<string, string> {
  const u = new URL(url);
  const timestamp = String(Math.trunc(nowMs));
  return {
    'x-ncp-apigw-timestamp': timestamp,
    'x-ncp-iam-access-key': credentials.accessKey,
    'x-ncp-apigw-signature-v2': ncpSignatureV2({
      method,
      pathAndQuery: `${u.pathname}${u.search}`,
      timestamp,
      accessKey: credentials.accessKey,
      secretKey: credentials.secretKey,
    }),
  };
}
