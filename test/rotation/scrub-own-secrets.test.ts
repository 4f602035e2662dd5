import { describe, expect, it } from 'vitest';
import { ProviderError } from '../../src/providers/errors.js';
import { REDACTED } from '../../src/log/scrubber.js';
import { scrubberOf } from '../../src/log/secret-registry.js';
import { SecretStoreError } from '../../src/secrets/types.js';
import { errorTexts, expectNoPasswords } from './harness.js';

const PW = 'Secret-Pw-123!';
const OTHER = 'Secret-Pw-123!-longer';

// The rotation scrubs the passwords it handled with scrubberOf (these cases were the tests of the
// former src/rotation/redact.ts scrubText and scrubError, which scrubberOf replaced).
const scrubText = (text: string, secrets: string[]) => scrubberOf(secrets).scrub(text);
const scrubError = (err: unknown, secrets: string[]) => scrubberOf(secrets).scrubError(err);

describe('scrubText', () => {
  it('replaces every occurrence, longest secret first', () => {
    expect(scrubText(`a ${OTHER} b ${PW} c ${PW}`, [PW, OTHER])).toBe(
      `a ${REDACTED} b ${REDACTED} c ${REDACTED}`,
    );
  });
  it('ignores empty secrets', () => {
    expect(scrubText('abc', [''])).toBe('abc');
  });
});

describe('scrubError', () => {
  it('scrubs a ProviderError (vendor message and detail) and its whole cause chain', () => {
    const root = new Error(`socket closed while writing {"newpassword":"${PW}"}`);
    const mid = new SecretStoreError('unavailable', `store said ${PW}`, { cause: root });
    const top = new ProviderError({
      kind: 'password-rejected',
      provider: 'otc-css',
      operation: 'reset',
      status: 400,
      vendorCode: 'CSS.2026',
      vendorMessage: `weak password: ${PW}`,
      detail: `sent ${PW}`,
      cause: mid,
    });
    expect(errorTexts(top).join('\n')).toContain(PW);
    const clean = scrubError(top, [PW]);
    expectNoPasswords([PW], errorTexts(clean));
    expect(clean).toBeInstanceOf(ProviderError);
    expect(clean).toMatchObject({ kind: 'password-rejected', status: 400, vendorCode: 'CSS.2026' });
    expect((clean as Error).cause).toMatchObject({ name: 'SecretStoreError', kind: 'unavailable' });
  });

  it('turns non-Error causes into scrubbed text and cuts long chains', () => {
    expect(scrubError({ password: PW }, [PW])).toBe(`{"password":"${REDACTED}"}`);
    let e: Error = new Error('bottom');
    for (let i = 0; i < 20; i++) e = new Error(`level ${i}`, { cause: e });
    expect(errorTexts(scrubError(e, [PW])).join('\n')).toContain('cause chain truncated');
  });
});
