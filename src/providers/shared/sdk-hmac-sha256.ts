import { createHash, createHmac } from 'node:crypto';

/**
 * Huawei Cloud / Open Telekom Cloud API Gateway signing, `SDK-HMAC-SHA256`.
 * Pure: request in, headers out; the time is a parameter. Each step is its own function so the
 * published vectors can check them one by one.
 */

export const SDK_ALGORITHM = 'SDK-HMAC-SHA256';

export interface SdkSignRequest {
  method: string;
  /** Absolute URL, exactly as it will be sent. */
  url: string;
  /** Headers to send and sign besides Host and X-Sdk-Date (e.g. Content-Type, X-Project-Id). */
  headers: Record<string, string>;
  /** The exact bytes that will be sent (empty for none). */
  body: Uint8Array;
}

export interface SdkCredentials {
  accessKey: string;
  secretKey: string;
}

export interface SdkSignature {
  /** Headers to send: the input headers plus X-Sdk-Date and Authorization (Host is set by fetch). */
  headers: Record<string, string>;
  signedHeaders: string;
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
}

const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** `YYYYMMDDTHHMMSSZ` in UTC. */
export function formatSdkDate(epochMs: number): string {
  return new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** Percent-encodes everything but `A-Za-z0-9-_.~`, upper-case hex. */
export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function decodeLenient(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Each segment decoded once and re-encoded; always ends with `/` (the request is sent without it). */
export function canonicalUri(pathname: string): string {
  const uri = pathname
    .split('/')
    .map((segment) => encodeRfc3986(decodeLenient(segment)))
    .join('/');
  if (uri === '') return '/';
  return uri.endsWith('/') ? uri : `${uri}/`;
}

/** `search` with or without the leading `?`. `+` is a literal plus, not a space. */
export function canonicalQuery(search: string): string {
  const raw = search.startsWith('?') ? search.slice(1) : search;
  if (raw === '') return '';
  const pairs = raw
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const key = eq === -1 ? part : part.slice(0, eq);
      const value = eq === -1 ? '' : part.slice(eq + 1);
      return [encodeRfc3986(decodeLenient(key)), encodeRfc3986(decodeLenient(value))] as const;
    });
  pairs.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** `name:value\n` per header (lower-case names, trimmed values, sorted) and the `;`-joined names. */
export function canonicalHeaders(headers: Record<string, string>): {
  canonical: string;
  signed: string;
} {
  const entries = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    canonical: entries.map(([k, v]) => `${k}:${v}\n`).join(''),
    signed: entries.map(([k]) => k).join(';'),
  };
}

export function buildCanonicalRequest(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: Uint8Array,
): { canonicalRequest: string; signedHeaders: string } {
  const { canonical, signed } = canonicalHeaders(headers);
  const canonicalRequest = [
    method.toUpperCase(),
    canonicalUri(url.pathname),
    canonicalQuery(url.search),
    canonical,
    signed,
    sha256Hex(body),
  ].join('\n');
  return { canonicalRequest, signedHeaders: signed };
}

export function buildStringToSign(sdkDate: string, canonicalRequest: string): string {
  return `${SDK_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequest)}`;
}

export function signSdkHmacSha256(
  req: SdkSignRequest,
  credentials: SdkCredentials,
  nowMs: number,
): SdkSignature {
  const url = new URL(req.url);
  const sdkDate = formatSdkDate(nowMs);
  // URL.host carries the port only when it is not the scheme's default: what fetch sends as Host.
  const toSign: Record<string, string> = { ...req.headers, Host: url.host, 'X-Sdk-Date': sdkDate };
  const { canonicalRequest, signedHeaders } = buildCanonicalRequest(req.method, url, toSign, req.body);
  const stringToSign = buildStringToSign(sdkDate, canonicalRequest);
  const signature = createHmac('sha256', credentials.secretKey).update(stringToSign).digest('hex');
  return {
    headers: {
      ...req.headers,
      'X-Sdk-Date': sdkDate,
      Authorization: `${SDK_ALGORITHM} Access=${credentials.accessKey}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
    },
    signedHeaders,
    canonicalRequest,
    stringToSign,
    signature,
  };
}
