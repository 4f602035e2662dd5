/** OTC signs CSS calls with SDK-HMAC-SHA256 (or an IAM token): the scheme Huawei Cloud shares. */
export { signCssRequest as signRequest } from '../shared/css-sign.js';
