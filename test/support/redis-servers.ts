import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/util/redis-server.js';

/**
 * Real redis-server processes in the shapes production uses: TLS with a private CA, a master
 * behind Sentinel, a three-master Cluster. Every server binds to loopback on free ports and lives
 * in a temp folder; `stop()` ends the processes and removes the folder.
 */

const run = promisify(execFile);

export interface ServerGroup {
  dir: string;
  /** Starts a redis-server (or sentinel) with these arguments; resolves once it accepts connections. */
  start(args: string[], ready?: RegExp): Promise<ChildProcess>;
  stop(): Promise<void>;
}

export async function serverGroup(label: string): Promise<ServerGroup> {
  const dir = await mkdtemp(join(tmpdir(), `rotator-${label}-`));
  const children: ChildProcess[] = [];
  return {
    dir,
    start(args, ready = /Ready to accept connections/) {
      return new Promise((resolve, reject) => {
        const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
        children.push(child);
        let out = '';
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`redis-server ${args[0]} did not start within 15s: ${out.slice(-800)}`));
        }, 15_000);
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          if (ready.test(out)) {
            clearTimeout(timer);
            resolve(child);
          }
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`redis-server exited with code ${code}: ${out.slice(-800)}`));
        });
      });
    },
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The base arguments of a throw-away server: loopback, no persistence. */
const base = (port: number) => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
];

// ---------------------------------------------------------------------------------------------
// TLS with a private CA

export interface TestPki {
  /** Paths of PEM files, generated now (never committed). */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The only name in the server certificate (no IP address): the client must send it as servername. */
  serverName: string;
}

/** A CA, a server certificate for `serverName` and a client certificate, made with the openssl CLI. */
export async function makePki(dir: string, serverName = 'redis.rotator.test'): Promise<TestPki> {
  const p = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=rotator test CA',
  ]);
  const leaf = async (name: string, subject: string, ext: string) => {
    await writeFile(p(`${name}.ext`), ext);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      p(`${name}.key`),
      '-out',
      p(`${name}.csr`),
      '-subj',
      subject,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      p(`${name}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      p(`${name}.ext`),
    ]);
  };
  await leaf(
    'server',
    `/CN=${serverName}`,
    `subjectAltName=DNS:${serverName}\nextendedKeyUsage=serverAuth\n`,
  );
  await leaf('client', '/CN=rotator', 'extendedKeyUsage=clientAuth\n');
  return {
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    serverName,
  };
}

export interface TlsRedis {
  port: number;
  pki: TestPki;
}

/** A TLS-only server that requires `password` and a client certificate signed by the test CA. */
export async function startTlsRedis(group: ServerGroup, password: string): Promise<TlsRedis> {
  const pki = await makePki(group.dir);
  const port = await freePort();
  await group.start([
    ...base(0),
    '--tls-port',
    String(port),
    '--tls-cert-file',
    pki.serverCert,
    '--tls-key-file',
    pki.serverKey,
    '--tls-ca-cert-file',
    pki.ca,
    '--tls-auth-clients',
    'yes',
    '--requirepass',
    password,
  ]);
  return { port, pki };
}

// ---------------------------------------------------------------------------------------------
// Sentinel

export interface SentinelRedis {
  masterPort: number;
  sentinelPort: number;
  name: string;
}

/**
 * A master that requires `password`, watched by one sentinel that requires `sentinelPassword`
 * (its config file is written to the group's folder: a sentinel rewrites it).
 */
export async function startSentinelRedis(
  group: ServerGroup,
  password: string,
  sentinelPassword: string,
): Promise<SentinelRedis> {
  const name = 'rotatormaster';
  const masterPort = await freePort();
  await group.start([...base(masterPort), '--requirepass', password, '--masterauth', password]);
  const sentinelPort = await freePort();
  const conf = join(group.dir, 'sentinel.conf');
  await writeFile(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${group.dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} 1`,
      `sentinel auth-pass ${name} ${password}`,
      `requirepass ${sentinelPassword}`,
      '',
    ].join('\n'),
  );
  await group.start([conf, '--sentinel'], /\+monitor master/);
  return { masterPort, sentinelPort, name };
}

// ---------------------------------------------------------------------------------------------
// Cluster

export interface ClusterRedis {
  ports: number[];
}

/** Three masters, no replicas, made one cluster with `redis-cli --cluster create`; all need `password`. */
export async function startClusterRedis(group: ServerGroup, password: string): Promise<ClusterRedis> {
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const busPort = await freePort();
    await group.start([
      ...base(port),
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      '--cluster-port',
      String(busPort),
      '--dir',
      group.dir,
      '--requirepass',
      password,
      '--masterauth',
      password,
    ]);
    ports.push(port);
  }
  const auth = { env: { ...process.env, REDISCLI_AUTH: password } };
  await run(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    auth,
  );
  // `create` returns once slots are assigned; every node must also agree the cluster is up.
  const deadline = Date.now() + 20_000;
  for (const port of ports) {
    for (;;) {
      const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info'], auth);
      if (stdout.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error(`cluster node ${port} not ok: ${stdout}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { ports };
}
