export {
  defaultNcpManagerUser,
  NCP_API_PREFIXES,
  NCP_MANAGER_USER_PATTERN,
  SandboxCluster,
  type SandboxClusterSpec,
} from './cluster.js';
export {
  DEFAULT_SANDBOX_CLUSTERS,
  parseSandboxClusters,
  readSandboxClusters,
  SandboxFileError,
  type SandboxClustersFile,
} from './clusters-file.js';
export type { FaultOperation, SandboxFault } from './faults.js';
export { CSS_MAX_SKEW_MS } from './css-handler.js';
export { NCP_APIS, NCP_MAX_SKEW_MS, type NcpApi } from './ncp-handler.js';
export type { SandboxLogEntry, SandboxOperation } from './registry.js';
export { startSandbox, type Sandbox, type SandboxClusters, type SandboxOptions } from './server.js';
export { sandboxTarget, type SandboxTargetOptions } from './target.js';
