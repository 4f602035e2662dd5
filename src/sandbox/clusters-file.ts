import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { formatPath } from '../config/problems.js';
import { PROVIDER_IDS } from '../config/provider-ids.js';
import { NCP_API_PREFIXES, type SandboxClusterSpec } from './cluster.js';

/**
 * The `rotator sandbox --clusters FILE` format (YAML or JSON): either a list of clusters or
 * `{ busyMs?, latencyMs?, clusters: [...] }`. See config/sandbox-clusters.example.yaml.
 */
const ms = () =>
  z
    .number({ error: 'must be a whole number of ms >= 0' })
    .int('must be a whole number of ms >= 0')
    .nonnegative('must be a whole number of ms >= 0')
    .optional();

const clusterSchema = z.strictObject({
  key: z.string().min(1).optional(),
  provider: z.enum(PROVIDER_IDS, { error: () => `must be one of: ${PROVIDER_IDS.join(', ')}` }),
  projectId: z.string().min(1).optional(),
  clusterId: z.string().min(1).optional(),
  serviceGroupInstanceNo: z
    .union([z.string().regex(/^\d+$/, 'must be digits'), z.number().int().nonnegative().transform(String)])
    .optional(),
  apiPrefix: z
    .enum(NCP_API_PREFIXES, { error: () => `must be one of: ${NCP_API_PREFIXES.join(', ')}` })
    .optional(),
  accessKey: z.string().min(1),
  secretKey: z.string().min(1),
  tokens: z.array(z.string().min(1)).optional(),
  password: z.string().min(1),
  username: z.string().min(1).optional(),
  authorityEnable: z.boolean({ error: 'must be true or false' }).optional(),
  busyMs: ms(),
  latencyMs: ms(),
  applyDelayMs: ms(),
});

const fileSchema = z.union([
  z.array(clusterSchema),
  z.strictObject({
    busyMs: ms(),
    latencyMs: ms(),
    clusters: z.array(clusterSchema),
  }),
]);

export interface SandboxClustersFile {
  busyMs?: number;
  latencyMs?: number;
  clusters: SandboxClusterSpec[];
}

export class SandboxFileError extends Error {
  override name = 'SandboxFileError';
}

/** Pure: parses the file text; every problem as `path: message` (never a value from the file). */
export function parseSandboxClusters(text: string, source = 'clusters file'): SandboxClustersFile {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    throw new SandboxFileError(`${source}: invalid YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    // The union hides the useful issues: report those of the branch that matches the input's shape.
    const branch = Array.isArray(raw) ? z.array(clusterSchema) : fileSchema.options[1];
    const issues = branch.safeParse(raw).error?.issues ?? parsed.error.issues;
    const problems = issues.map((i) =>
      i.code === 'unrecognized_keys'
        ? `${formatPath(i.path)}: unknown key(s) ${i.keys.join(', ')}`
        : `${formatPath(i.path)}: ${i.message}`,
    );
    throw new SandboxFileError(`${source}:\n${problems.join('\n')}`);
  }
  const d = parsed.data;
  const clusters = (Array.isArray(d) ? d : d.clusters) as SandboxClusterSpec[];
  const out: SandboxClustersFile = { clusters };
  if (!Array.isArray(d) && d.busyMs !== undefined) out.busyMs = d.busyMs;
  if (!Array.isArray(d) && d.latencyMs !== undefined) out.latencyMs = d.latencyMs;
  return out;
}

export function readSandboxClusters(path: string): SandboxClustersFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SandboxFileError(`cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseSandboxClusters(text, path);
}

/** One cluster per provider, the same as config/sandbox-clusters.example.yaml: fake credentials. */
export const DEFAULT_SANDBOX_CLUSTERS: SandboxClusterSpec[] = [
  {
    key: 'ncp-demo',
    provider: 'ncp-cdss',
    serviceGroupInstanceNo: '1009123',
    accessKey: 'SANDBOX-NCP-AK',
    secretKey: 'sandbox-ncp-secret',
    password: 'Initial-Pass1',
  },
  {
    key: 'huawei-demo',
    provider: 'huaweicloud-css',
    projectId: '0123456789abcdef0123456789abcdef',
    clusterId: '4f3deec3-efa8-4598-bf91-560aad1377a3',
    accessKey: 'SANDBOX-HUAWEI-AK',
    secretKey: 'sandbox-huawei-secret',
    password: 'Initial-Pass1',
  },
  {
    key: 'otc-demo',
    provider: 'otc-css',
    projectId: 'fedcba9876543210fedcba9876543210',
    clusterId: '9a1b2c3d-0000-4000-8000-000000000001',
    accessKey: 'SANDBOX-OTC-AK',
    secretKey: 'sandbox-otc-secret',
    password: 'Initial-Pass1',
  },
];
