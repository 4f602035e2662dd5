import { createCssProvider } from '../shared/css-provider.js';
import type { Provider, ProviderDeps } from '../types.js';
import { OTC_CSS_REGIONS } from './regions.js';

/** Open Telekom Cloud CSS: the `admin` password of a security-mode cluster. */
export function createOtcCss(deps: ProviderDeps): Provider {
  return createCssProvider({ id: 'otc-css', regions: OTC_CSS_REGIONS }, deps) satisfies Provider;
}
