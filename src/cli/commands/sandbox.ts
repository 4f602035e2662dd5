import type { Command } from 'commander';
import {
  DEFAULT_SANDBOX_CLUSTERS,
  readSandboxClusters,
  SandboxFileError,
  type SandboxLogEntry,
  startSandbox,
} from '../../sandbox/index.js';
import { ExitError } from '../exit.js';

const HELP = `
Serves the reset and status APIs of Naver Cloud CDSS, Huawei Cloud CSS and OTC CSS on one local
port, verifying signatures, timestamps, bodies and password rules like the clouds do. Point a
target's \`endpoint\` at it:
  ncp-cdss          endpoint: http://HOST:PORT/api/v1   (POST .../cluster/resetMGMTPassword/<no>)
  huaweicloud-css,
  otc-css           endpoint: http://HOST:PORT          (POST /v1.0/<project>/clusters/<id>/password/reset)
Data-plane login per cluster (HTTP basic auth, 200 or 401): GET http://HOST:PORT/_dataplane/<key>

Clusters file (YAML or JSON; without --clusters the three demo clusters of
config/sandbox-clusters.example.yaml are served):
  busyMs: 2000            # optional: busy time after a reset
  latencyMs: 0            # optional: delay before every answer
  clusters:               # or the list alone at the top level
    - key: css-1                      # optional unique name (default clusterId / ncp-<no>)
      provider: huaweicloud-css       # ncp-cdss | huaweicloud-css | otc-css
      projectId: <id>                 # CSS
      clusterId: <id>                 # CSS
      serviceGroupInstanceNo: '123'   # NCP
      apiPrefix: v1                   # NCP: v1 | sgn-v1 | jpn-v1 | krs-v1
      accessKey: AK                   # the key pair requests must be signed with
      secretKey: SK
      tokens: [TOKEN]                 # CSS: accepted X-Auth-Token values
      password: Initial-Pass1         # current password at start
      username: admin                 # data-plane user (CSS: admin; NCP: the cluster's manager user,
                                      # 3-15 lower-case letters, not admin, reported as
                                      # kafkaManagerUserName; default derived from the number)
      authorityEnable: true           # CSS: security mode; false: status says so, a reset is refused
      busyMs: 2000                    # per-cluster overrides
      latencyMs: 0
      applyDelayMs: 0                 # optional: the data-plane login keeps the OLD password (and
                                      # refuses the new one) this long after an accepted reset,
                                      # like a cluster applying the change asynchronously
`;

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new ExitError(2, `--port: must be 0-65535, got '${value}'`);
  return n;
}

function parseMs(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new ExitError(2, `${flag}: must be a whole number of ms, got '${value}'`);
    return n;
  };
}

function formatEntry(e: SandboxLogEntry): string {
  const who = [e.provider, e.cluster, e.accessKey].filter(Boolean).join(' ');
  return `${new Date(e.time).toISOString()} ${e.operation} ${who || '-'} → ${e.status} ${e.outcome}\n`;
}

export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('Run a local simulator of the three clouds’ reset-password APIs')
    .option('-p, --port <n>', 'port to listen on (0 = any free port)', parsePort, 8790)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-c, --clusters <file>', 'clusters file (YAML or JSON)')
    .option('--busy <ms>', 'busy time after a reset, ms (overrides the file)', parseMs('--busy'))
    .option('-q, --quiet', 'do not print each request')
    .addHelpText('after', HELP)
    .action(
      async (opts: { port: number; host: string; clusters?: string; busy?: number; quiet?: boolean }) => {
        let file;
        try {
          file = opts.clusters ? readSandboxClusters(opts.clusters) : { clusters: DEFAULT_SANDBOX_CLUSTERS };
        } catch (err) {
          if (err instanceof SandboxFileError) throw new ExitError(2, err.message);
          throw err;
        }
        const sandbox = await startSandbox({
          port: opts.port,
          host: opts.host,
          clusters: file.clusters,
          busyMs: opts.busy ?? file.busyMs ?? 2000,
          latencyMs: file.latencyMs ?? 0,
          ...(opts.quiet ? {} : { onRequest: (e: SandboxLogEntry) => process.stdout.write(formatEntry(e)) }),
        });
        process.stdout.write(`sandbox listening on ${sandbox.url}\n`);
        for (const c of sandbox.clusters.list()) {
          const where =
            c.provider === 'ncp-cdss'
              ? `endpoint ${sandbox.url}/api/${c.spec.apiPrefix ?? 'v1'} serviceGroupInstanceNo ${c.spec.serviceGroupInstanceNo}`
              : `endpoint ${sandbox.url} projectId ${c.spec.projectId} clusterId ${c.spec.clusterId}`;
          process.stdout.write(
            `  ${c.key} (${c.provider}) ${where} accessKey ${c.spec.accessKey} data plane ${c.dataPlaneUrl}\n`,
          );
        }
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
        await sandbox.close();
        process.stdout.write('sandbox stopped\n');
      },
    );
}
