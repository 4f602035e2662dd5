/** What a cloud said about a failure, from any of the error-body shapes the three clouds use. */
export interface VendorError {
  code?: string;
  message?: string;
  requestId?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

function fromFlat(o: Json): VendorError | undefined {
  const code = str(o.error_code) ?? str(o.errCode) ?? str(o.errorCode) ?? str(o.code);
  const message =
    str(o.error_msg) ?? str(o.externalMessage) ?? str(o.message) ?? str(o.errorMessage) ?? str(o.details);
  const requestId = str(o.request_id) ?? str(o.requestId);
  if (code === undefined && message === undefined) return undefined;
  const out: VendorError = {};
  if (code !== undefined) out.code = code;
  if (message !== undefined) out.message = message;
  if (requestId !== undefined) out.requestId = requestId;
  return out;
}

/**
 * Parses `{error_code, error_msg, request_id}` (Huawei/OTC gateway), `{errCode, externalMessage}`
 * (CSS itself), `{code, message}`, nested `{"error": {...}}` (NCP gateway: `errorCode` string or
 * number). Undefined when the text is not JSON or has none of these fields: never throws.
 */
export function parseVendorError(text: string): VendorError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(parsed)) return undefined;
  if (isObject(parsed.error)) {
    const inner = fromFlat(parsed.error);
    if (inner) {
      const outerId = str(parsed.request_id) ?? str(parsed.requestId);
      if (inner.requestId === undefined && outerId !== undefined) inner.requestId = outerId;
      return inner;
    }
  }
  return fromFlat(parsed);
}
