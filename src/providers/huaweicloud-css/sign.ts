/** Huawei Cloud signs CSS calls with SDK-HMAC-SHA256 (or an IAM token): the scheme OTC shares. */
export { signCssRequest as signRequest } from '../shared/css-sign.js';
