/**
 * The job log lines of one run, written in batches: the first line of a quiet period waits at most
 * `intervalMs` for the ones that follow it, then they all go in one Redis round trip; `flush()`
 * writes what is left (the processor calls it before it returns). A rotation's six steps used to
 * cost six awaited round trips in the worker slot; now a fast rotation costs one or two, and a
 * slow one (a cluster that takes minutes to settle) still shows its progress within a second.
 *
 * The job log is the operator's view in Bull Board and `rotator audit`; the audit trail is the
 * durable record, so a failed write is reported through `onError` and does not fail the rotation.
 */
export interface JobLogBuffer {
  add(line: string): void;
  /** Writes every line added so far, in order; never rejects. */
  flush(): Promise<void>;
}

export function createJobLogBuffer(
  write: (lines: string[]) => Promise<unknown>,
  onError: (err: unknown) => void,
  intervalMs = 1_000,
): JobLogBuffer {
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();

  const writeOut = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length > 0) {
      const lines = pending;
      pending = [];
      // one write at a time, so the lines stay in order
      chain = chain.then(() =>
        write(lines).then(
          () => undefined,
          (err: unknown) => {
            try {
              onError(err);
            } catch {
              // a failing reporter must not stop the lines that follow
            }
          },
        ),
      );
    }
    return chain;
  };

  return {
    add(line) {
      pending.push(line);
      if (!timer) {
        timer = setTimeout(() => void writeOut(), intervalMs);
        timer.unref();
      }
    },
    flush: writeOut,
  };
}
