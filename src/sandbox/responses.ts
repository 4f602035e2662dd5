import type { ProviderId } from '../config/provider-ids.js';

/** A canned answer: status, extra headers and the exact body text. */
export interface CannedAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): CannedAnswer =>
  headers ? { status, headers, body: JSON.stringify(body) } : { status, body: JSON.stringify(body) };

/** Huawei/OTC: CSS itself answers `{errCode, externalMessage}`, the gateway `{error_code, error_msg, request_id}`. */
export const css = {
  error: (status: number, code: string, text: string) =>
    json(status, { errCode: code, externalMessage: `${code} : ${text}` }),
  gateway: (
    status: number,
    code: string,
    text: string,
    requestId: string,
    headers?: Record<string, string>,
  ) => json(status, { error_code: code, error_msg: text, request_id: requestId }, headers),
  busy: () =>
    css.error(409, 'CSS.0011', 'Another operation is being performed on the cluster. Try again later.'),
  /** HTTP 202 with CSS.0011 and its message, as both vendors' error-code tables list it. */
  busy202: () =>
    css.error(
      202,
      'CSS.0011',
      'This operation cannot be performed because another operation is being performed on the instance or the instance is faulty. Please try again later.',
    ),
  /** A reset on a cluster without security mode. The real answer is UNKNOWN: simulated as 412. */
  notSecurityMode: () =>
    css.error(
      412,
      'CSS.0412',
      'The cluster is not in security mode: it has no password to reset (simulated).',
    ),
  notFound: () => css.error(403, 'CSS.0015', 'The cluster does not exist.'),
  badBody: () => css.error(400, 'CSS.0001', 'Invalid request body.'),
  noApi: (requestId: string) =>
    css.gateway(
      404,
      'APIGW.0101',
      'The API does not exist or has not been published in the environment',
      requestId,
    ),
};

/**
 * NCP: the gateway answers `{"error":{"errorCode","message"}}` (documented). CDSS's own errors are
 * UNKNOWN: the sandbox ASSUMES `{code, message, stackTrace}` (the SDK's model) with made-up codes
 * 1001 (password rules), 1002 (cluster not running), 1003 (no such cluster), 1000 (bad body).
 */
export const ncp = {
  gateway: (status: number, errorCode: string, message: string, headers?: Record<string, string>) =>
    json(status, { error: { errorCode, message } }, headers),
  cdss: (status: number, code: number, message: string, requestId: string) =>
    json(status, { code, message, stackTrace: null, requestId }),
  ok: (result: unknown, requestId: string) => json(200, { code: 0, message: 'SUCCESS', result, requestId }),
  authFailed: (details: string) =>
    json(401, { error: { errorCode: '200', message: 'Authentication Failed', details } }),
  notFound: (requestId: string) => ncp.cdss(404, 1003, 'The cluster does not exist.', requestId),
  busy: (status: string, requestId: string) =>
    ncp.cdss(409, 1002, `The cluster cannot be changed while its status is ${status}.`, requestId),
  badBody: (requestId: string) => ncp.cdss(400, 1000, 'Bad Request: malformed request body.', requestId),
  noApi: () => ncp.gateway(404, '300', 'Not Found Exception'),
};

/** The provider's usual body for a scripted HTTP status. */
export function faultAnswer(provider: ProviderId, status: number, requestId: string): CannedAnswer {
  if (provider === 'ncp-cdss') {
    switch (status) {
      case 401:
        return ncp.gateway(401, '200', 'Authentication Failed');
      case 403:
        return ncp.gateway(403, '210', 'Permission Denied');
      case 404:
        return ncp.notFound(requestId);
      case 412:
        return ncp.cdss(412, 1412, 'Precondition Failed', requestId);
      case 500:
        return ncp.gateway(500, '900', 'Unexpected Error');
      case 503:
        return ncp.gateway(503, '500', 'Endpoint Error');
      case 504:
        return ncp.gateway(504, '510', 'Endpoint Timeout');
      default:
        return ncp.gateway(status, String(status), 'Scripted failure');
    }
  }
  switch (status) {
    case 401:
      return css.gateway(401, 'APIGW.0301', 'Incorrect IAM authentication information', requestId);
    case 403:
      return css.gateway(
        403,
        'IAM.0003',
        "Policy doesn't allow css:cluster:resetPassword to be performed.",
        requestId,
      );
    case 404:
      return css.error(404, 'CSS.0002', 'The cluster does not exist.');
    case 412:
      return css.error(412, 'CSS.0412', 'Precondition failed (trigger UNKNOWN: simulated).');
    case 500:
      return json(500, { error: { code: 'CSS.0001', message: 'Internal server error.' } });
    case 503:
      return json(503, { code: 'APIGW.0201', message: 'Service temporarily unavailable' });
    default:
      return css.gateway(status, `SANDBOX.${status}`, 'Scripted failure', requestId);
  }
}
