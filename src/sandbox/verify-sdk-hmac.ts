import * as crypto from 'node:crypto';

/**
 * Server-side check of an `SDK-HMAC-SHA256` request, as Huawei/OTC API Gateway does it.
 * Written apart from the client signer on purpose (no shared code): a bug in one cannot hide
 * a bug in the other. Both are checked against the published vector.
 */

export interface IncomingSignedRequest {
  method: string;
  /** The request target as received: path plus optional `?query`. */
  target: string;
  /** Header names in any case; repeated headers as arrays. */
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

export type SdkVerifyResult =
  | { ok: true; accessKey: string; signedHeaders: string[] }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown-key' | 'skew' | 'signature'; accessKey?: string };

const UNRESERVED = new Set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~'.split(''));
const HEX = '0123456789ABCDEF';

/** Byte-wise percent-decoding; a `%` not followed by two hex digits stays literal. */
function percentDecode(text: string): Buffer {
  const input = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const b = input[i]!;
    if (b === 0x25 && i + 2 < input.length) {
      const hex = String.fromCharCode(input[i + 1]!, input[i + 2]!);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 2;
        continue;
      }
    }
    out.push(b);
  }
  return Buffer.from(out);
}

function percentEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && UNRESERVED.has(ch)) out += ch;
    else out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

const reencode = (part: string) => percentEncode(percentDecode(part));

function headerValue(headers: IncomingSignedRequest['headers'], name: string): string | undefined {
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name) {
      const v = headers[key];
      return Array.isArray(v) ? v.join(',') : v;
    }
  }
  return undefined;
}

/** Parses `X-Sdk-Date` (`YYYYMMDDTHHMMSSZ`) into epoch ms, or undefined. */
export function parseSdkDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? undefined : t;
}

/** The canonical request the gateway rebuilds from what it received. */
export function serverCanonicalRequest(req: IncomingSignedRequest, signedHeaders: string[]): string {
  const q = req.target.indexOf('?');
  const rawPath = q === -1 ? req.target : req.target.slice(0, q);
  const rawQuery = q === -1 ? '' : req.target.slice(q + 1);

  let path = rawPath
    .split('/')
    .map((seg) => reencode(seg))
    .join('/');
  if (!path.endsWith('/')) path += '/';

  const params: [string, string][] = [];
  for (const piece of rawQuery.split('&')) {
    if (!piece) continue;
    const at = piece.indexOf('=');
    params.push(
      at < 0 ? [reencode(piece), ''] : [reencode(piece.slice(0, at)), reencode(piece.slice(at + 1))],
    );
  }
  params.sort((x, y) =>
    Buffer.compare(Buffer.from(x[0] + '\u0000' + x[1]), Buffer.from(y[0] + '\u0000' + y[1])),
  );
  const query = params.map((p) => p.join('=')).join('&');

  let headerBlock = '';
  for (const name of [...signedHeaders].sort()) {
    headerBlock += `${name}:${(headerValue(req.headers, name) ?? '').trim()}\n`;
  }
  const bodyHash = crypto.createHash('sha256').update(req.body).digest('hex');
  return `${req.method.toUpperCase()}\n${path}\n${query}\n${headerBlock}\n${signedHeaders.join(';')}\n${bodyHash}`;
}

export interface SdkVerifyOptions {
  secretFor: (accessKey: string) => string | undefined;
  nowMs: number;
  maxSkewMs: number;
  /** Header names that must be among the signed ones (lower case). */
  mustSign?: readonly string[];
}

export function verifySdkHmacSha256(req: IncomingSignedRequest, o: SdkVerifyOptions): SdkVerifyResult {
  const auth = headerValue(req.headers, 'authorization');
  const date = headerValue(req.headers, 'x-sdk-date');
  if (!auth || !date) return { ok: false, reason: 'missing' };
  const m = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)$/.exec(
    auth.trim(),
  );
  if (!m) return { ok: false, reason: 'malformed' };
  const accessKey = m[1]!;
  const signed = m[2]!.split(';');
  const given = m[3]!;
  const required = ['host', 'x-sdk-date', ...(o.mustSign ?? [])];
  if (required.some((h) => !signed.includes(h)) || signed.some((h) => h !== h.toLowerCase())) {
    return { ok: false, reason: 'malformed', accessKey };
  }
  const secret = o.secretFor(accessKey);
  if (secret === undefined) return { ok: false, reason: 'unknown-key', accessKey };
  const at = parseSdkDate(date);
  if (at === undefined || Math.abs(o.nowMs - at) > o.maxSkewMs)
    return { ok: false, reason: 'skew', accessKey };

  const canonical = serverCanonicalRequest(req, signed);
  const digest = crypto.createHash('sha256').update(canonical, 'utf8').digest('hex');
  const expected = crypto
    .createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`SDK-HMAC-SHA256\n${date}\n${digest}`, 'utf8')
    .digest();
  const got = Buffer.from(given, 'hex');
  if (got.length !== expected.length || !crypto.timingSafeEqual(got, expected)) {
    return { ok: false, reason: 'signature', accessKey };
  }
  return { ok: true, accessKey, signedHeaders: signed };
}
