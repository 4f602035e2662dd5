import { createCssProvider } from '../shared/css-provider.js';
import type { Provider, ProviderDeps } from '../types.js';
import { HUAWEI_CSS_REGIONS } from './regions.js';

/** Huawei Cloud CSS: the `admin` password of a security-mode cluster. */
export function createHuaweiCloudCss(deps: ProviderDeps): Provider {
  return createCssProvider({ id: 'huaweicloud-css', regions: HUAWEI_CSS_REGIONS }, deps) satisfies Provider;
}
