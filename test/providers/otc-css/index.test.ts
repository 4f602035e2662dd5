import { clusterSchema } from '../../../src/providers/otc-css/schema.js';
import { signRequest } from '../../../src/providers/otc-css/sign.js';
import { cssProviderSuite } from '../shared/css-provider-suite.js';

cssProviderSuite({
  id: 'otc-css',
  region: 'eu-nl',
  host: 'css.eu-nl.otc.t-systems.com',
  signRequest,
  clusterSchema,
});
