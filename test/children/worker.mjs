// A worker process for tests: runs the BUILT worker (dist/) with a config given as a JSON file.
// env: WORKER_CONFIG (path of a validated RotatorConfig as JSON), WORKER_ENV (JSON of credential env vars),
//      KILL_AFTER_STEP (optional: SIGKILL this process right after that step's job log and audit record),
//      WORKER_LOCK_MS (BullMQ lock duration; a killed worker's job is taken over after about this long).
import { readFileSync } from 'node:fs';
import { createRedisConnection } from '../../dist/src/queue/connection.js';
import { createLogger, SecretRegistry } from '../../dist/src/log/index.js';
import { buildComponents } from '../../dist/src/worker/components.js';
import { startWorkerRuntime } from '../../dist/src/worker/runtime.js';

const config = JSON.parse(readFileSync(process.env.WORKER_CONFIG, 'utf8'));
const env = JSON.parse(process.env.WORKER_ENV ?? '{}');
const killAfter = process.env.KILL_AFTER_STEP;
const lockMs = Number(process.env.WORKER_LOCK_MS ?? 2000);

const registry = new SecretRegistry();
const logger = createLogger({ level: 'info', registry, base: { pid: process.pid } });
const redis = createRedisConnection(config.redis, { name: `test-worker-${process.pid}`, env, registry });
const components = await buildComponents({
  config,
  redis,
  env,
  registry,
  logger,
  extraSinks: [
    {
      name: 'stdout',
      async send(alert) {
        process.stdout.write(`ALERT ${JSON.stringify(alert)}\n`);
      },
    },
  ],
  alertFoldWindowMs: 1,
});
const runtime = await startWorkerRuntime({
  config,
  components,
  connection: redis,
  lockDuration: lockMs,
  stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
  afterStep: killAfter
    ? (event) => {
        if (event.step === killAfter && event.outcome !== 'failed') process.kill(process.pid, 'SIGKILL');
      }
    : undefined,
});
process.stdout.write('READY\n');

const stop = async () => {
  await runtime.close(config.worker.shutdownTimeout);
  await redis.quit().catch(() => redis.disconnect());
  process.stdout.write('STOPPED\n');
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
