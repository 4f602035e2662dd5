/** OTC CSS answers with the cluster document Huawei Cloud shares. */
export { cssClusterSchema as clusterSchema, type CssCluster as Cluster } from '../shared/css-schema.js';
