import type { Command } from 'commander';
import { configPath } from '../../config/load.js';
import { loadConfig } from '../../worker/config.js';
import { resolveRef } from '../../config/refs.js';
import { startHttpServer } from '../../http/server.js';
import { SecretRegistry } from '../../log/index.js';
import { createRedisConnection, describeRedis } from '../../queue/connection.js';
import { startTracing } from '../../telemetry/tracing.js';
import { buildComponents, readyProbeSecretId } from '../../worker/components.js';
import { startWorkerRuntime } from '../../worker/runtime.js';
import { packageVersion } from '../version.js';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'Run the worker: job schedulers, rotations, retries, alerts (and the HTTP server when configured)',
    )
    .option('-c, --config <file>', 'config file (default: $ROTATOR_CONFIG or config/rotator.yaml)')
    .action(async (opts: { config?: string }) => {
      const config = loadConfig(configPath(opts.config));
      // One registry for the Redis password and everything else: the worker's logger scrubs them all.
      const registry = new SecretRegistry();
      const redis = createRedisConnection(config.redis, { name: 'rotator-worker', registry });
      const components = await buildComponents({ config, redis, registry });
      const { logger } = components;
      // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; only then is the OpenTelemetry SDK loaded.
      const tracing = await startTracing(process.env, packageVersion());
      if (tracing) logger.info({}, 'tracing: spans go to the OTLP endpoint');
      const runtime = await startWorkerRuntime({
        config,
        components,
        connection: redis,
        ...(tracing ? { tracing } : {}),
      });
      components.attach(runtime.control, [runtime.queues.rotations, runtime.queues.triggers]);
      let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
      if (config.http) {
        const token = components.registry.add(resolveRef(config.http.token));
        http = await startHttpServer({
          host: config.http.host,
          port: config.http.port,
          token,
          control: runtime.control,
          ready: {
            redis: async () => void (await redis.ping()),
            store: () => components.store.ping(readyProbeSecretId(config)),
          },
          registry: components.metrics.registry,
          queues: [runtime.queues.rotations, runtime.queues.triggers, runtime.queues.requests],
          dashboardReadOnly: config.http.dashboard.readOnly,
          logger,
          scrub: (s) => components.registry.scrub(s),
        });
        logger.info({ url: http.url }, 'http server listening');
      }
      logger.info(
        {
          targets: components.targets.size,
          concurrency: config.worker.concurrency,
          redis: describeRedis(config.redis),
          prefix: config.redis.prefix,
        },
        'worker started',
      );
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ signal }, 'second signal: exiting now');
            process.exit(1);
          }
          stopping = true;
          logger.info(
            { signal, timeoutMs: config.worker.shutdownTimeout },
            'stopping: no new jobs; finishing active rotations',
          );
          void (async () => {
            await http?.close().catch(() => undefined);
            await runtime.close(config.worker.shutdownTimeout);
            await redis.quit().catch(() => redis.disconnect());
            await tracing
              ?.shutdown()
              .catch((err: Error) => logger.warn({ err: err.message }, 'spans not exported'));
            logger.info({}, 'worker stopped');
            resolve();
          })();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
