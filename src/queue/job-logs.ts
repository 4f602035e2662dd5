import type { RotatorConfig } from '../config/schema.js';
import { type JobLogSource, jobLogLookupFromQueue } from '../audit/job-logs.js';
import { processSecrets } from '../log/secret-registry.js';
import { connectClient, createClientConnection, describeRedis } from './connection.js';
import { openQueues } from './queues.js';

/** Job logs of the rotations queue, for `rotator audit` (a rotation's id is its job's id). */
export async function openJobLogSource(config: RotatorConfig): Promise<JobLogSource> {
  const connection = createClientConnection(config.redis);
  await connectClient(connection).catch((err: Error) => {
    connection.disconnect();
    throw new Error(
      processSecrets.scrub(`cannot reach Redis at ${describeRedis(config.redis)}: ${err.message}`),
    );
  });
  const queues = openQueues(connection, config.redis.prefix);
  return {
    lookup: jobLogLookupFromQueue(queues.rotations),
    async close() {
      await queues.close();
      connection.disconnect();
    },
  };
}
