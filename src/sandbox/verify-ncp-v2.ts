import * as crypto from 'node:crypto';

/**
 * Server-side check of an NCP API Gateway signature v2. Written apart from the client signer on
 * purpose (no shared code); both are checked against the published vector.
 */

export interface NcpIncoming {
  method: string;
  /** The request target as received: path plus optional `?query`. */
  target: string;
  headers: Record<string, string | string[] | undefined>;
}

export type NcpVerifyResult =
  | { ok: true; accessKey: string }
  | { ok: false; reason: 'missing' | 'unknown-key' | 'skew' | 'signature'; accessKey?: string };

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The expected base64 signature for a request target, timestamp and key pair. */
export function expectedNcpSignature(
  method: string,
  target: string,
  timestamp: string,
  accessKey: string,
  secretKey: string,
): string {
  const mac = crypto.createHmac('sha256', Buffer.from(secretKey, 'utf8'));
  mac.update(method.toUpperCase(), 'utf8');
  mac.update(' ', 'utf8');
  mac.update(target, 'utf8');
  mac.update('\n', 'utf8');
  mac.update(timestamp, 'utf8');
  mac.update('\n', 'utf8');
  mac.update(accessKey, 'utf8');
  return mac.digest().toString('base64');
}

export function verifyNcpV2(
  req: NcpIncoming,
  o: { secretFor: (accessKey: string) => string | undefined; nowMs: number; maxSkewMs: number },
): NcpVerifyResult {
  const lower: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) lower[k.toLowerCase()] = single(v);
  const ts = lower['x-ncp-apigw-timestamp'];
  const ak = lower['x-ncp-iam-access-key'];
  const sig = lower['x-ncp-apigw-signature-v2'];
  if (!ts || !ak || !sig) return { ok: false, reason: 'missing' };
  const secret = o.secretFor(ak);
  if (secret === undefined) return { ok: false, reason: 'unknown-key', accessKey: ak };
  if (!/^\d{1,16}$/.test(ts) || Math.abs(o.nowMs - Number(ts)) > o.maxSkewMs) {
    return { ok: false, reason: 'skew', accessKey: ak };
  }
  const want = Buffer.from(expectedNcpSignature(req.method, req.target, ts, ak, secret), 'utf8');
  const got = Buffer.from(sig, 'utf8');
  if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) {
    return { ok: false, reason: 'signature', accessKey: ak };
  }
  return { ok: true, accessKey: ak };
}
