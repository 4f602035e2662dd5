/** A policy override that cannot be applied (widens a rule or cannot be satisfied). */
export class PolicyError extends Error {
  override name = 'PolicyError';
  constructor(
    readonly policyName: string,
    readonly problems: readonly { path: string; message: string }[],
  ) {
    super(
      `invalid password policy ${policyName}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    );
  }
}

/** No compliant password came out within the bounded number of attempts. Never carries a password. */
export class PasswordGenerationError extends Error {
  override name = 'PasswordGenerationError';
  constructor(
    readonly policyName: string,
    readonly attempts: number,
    message: string,
  ) {
    super(message);
  }
}
