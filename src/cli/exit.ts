/** Exit codes: 0 ok, 1 a rotation or command failed, 2 bad usage or bad config. */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 2 } as const;

/** Thrown by a command to end with a given code and message (printed to stderr). */
export class ExitError extends Error {
  override name = 'ExitError';
  constructor(
    readonly code: number,
    message = '',
  ) {
    super(message);
  }
}
