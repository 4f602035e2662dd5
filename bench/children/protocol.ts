/** Messages a bench child sends its parent over IPC. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'result'; data: Record<string, number | string> }
  | { type: 'error'; message: string };

export const isReady = (m: ChildMessage): m is { type: 'ready' } => m.type === 'ready';
export const isResult = (m: ChildMessage): m is Extract<ChildMessage, { type: 'result' | 'error' }> =>
  m.type === 'result' || m.type === 'error';

export function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('bench child must run with an IPC channel'));
    process.send(message, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

/** Parameters come as one JSON env var, so the command line stays short. */
export function params<T>(): T {
  const raw = process.env.BENCH_PARAMS;
  if (!raw) throw new Error('BENCH_PARAMS is not set');
  return JSON.parse(raw) as T;
}

/** Runs `main`, reports its result or error, and exits. */
export function runChild(main: () => Promise<Record<string, number | string> | void>): void {
  main()
    .then(async (data) => {
      if (data) await send({ type: 'result', data });
      process.exit(0);
    })
    .catch(async (err: unknown) => {
      await send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      process.exit(1);
    });
}
