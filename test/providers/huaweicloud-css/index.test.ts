import { clusterSchema } from '../../../src/providers/huaweicloud-css/schema.js';
import { signRequest } from '../../../src/providers/huaweicloud-css/sign.js';
import { cssProviderSuite } from '../shared/css-provider-suite.js';

cssProviderSuite({
  id: 'huaweicloud-css',
  region: 'cn-north-4',
  host: 'css.cn-north-4.myhuaweicloud.com',
  signRequest,
  clusterSchema,
});
