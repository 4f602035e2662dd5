import type { RotatorConfig } from '../../config/schema.js';
import { connectClient, createClientConnection, describeRedis } from '../../queue/connection.js';
import { openQueues, type RotatorQueues } from '../../queue/queues.js';
import { TargetStateStore } from '../../queue/target-state.js';
import { processSecrets } from '../../log/secret-registry.js';
import { createRotationControl } from '../../worker/control.js';
import type { RotationControl } from '../../queue/control.js';
import { EXIT, ExitError } from '../exit.js';

/** What a short-lived CLI command needs to talk to the workers through Redis. */
export interface CliClient {
  queues: RotatorQueues;
  control: RotationControl;
}

/**
 * Connects to the config's Redis (failing fast with a message naming the command), runs `fn` with
 * the queues and the rotation control, then closes everything.
 */
export async function withCliClient<T>(
  command: string,
  config: RotatorConfig,
  fn: (client: CliClient) => Promise<T>,
): Promise<T> {
  const connection = createClientConnection(config.redis);
  try {
    await connectClient(connection).catch((err: Error) => {
      // describeRedis never shows a user or password; the scrub catches one an error might echo.
      throw new ExitError(
        EXIT.failure,
        processSecrets.scrub(
          `${command}: cannot reach Redis at ${describeRedis(config.redis)}: ${err.message}`,
        ),
      );
    });
    const queues = openQueues(connection, config.redis.prefix);
    try {
      const state = new TargetStateStore(connection, config.redis.prefix);
      return await fn({ queues, control: createRotationControl(config, queues, state) });
    } finally {
      await queues.close();
    }
  } finally {
    connection.disconnect();
  }
}
