/** Huawei Cloud CSS answers with the cluster document OTC shares. */
export { cssClusterSchema as clusterSchema, type CssCluster as Cluster } from '../shared/css-schema.js';
