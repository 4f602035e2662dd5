import { describe, expect, it } from 'vitest';
import { checkCssPassword, checkNcpPassword } from '../../src/sandbox/password-rules.js';

describe('sandbox password rules (its own copy of the documented rules)', () => {
  it.each([
    ['Abcdef1!', undefined],
    ['abcdef12!', undefined],
    ['ABCD1234~~', undefined],
    ['Abc-123', 'CSS.0050'],
    [`A1-${'x'.repeat(30)}`, 'CSS.0050'],
    ['Abcdef1^x', 'CSS.0050'],
    ['Abcdef1+x', 'CSS.0050'],
    ['Abcdef 1x!', 'CSS.0050'],
    ['abcdefgh1', 'CSS.2026'],
    ['ABCDEFGH!', 'CSS.2026'],
    ['Admin-123x', 'CSS.2026'],
    ['x-NIMDA-1y', 'CSS.2026'],
  ])('CSS %j → %s', (pw, code) => {
    expect(checkCssPassword(pw)?.code).toBe(code);
  });

  it.each([
    ['Abcdef1!', true],
    ['Abcdef1^', true],
    ['Abc-1234567890123456', true],
    ['Abc-12345678901234567', false],
    ['Abc-123', false],
    ['abcdef1!', false],
    ['ABCDEF1!', false],
    ['Abcdefg!', false],
    ['Abcdefg1', false],
    ['Abcdef1&', false],
    ['Abcdef1/', false],
    ['Abcdef1+', false],
    ['Abcdef1\\', false],
    ["Abcdef1'", false],
    ['Abcdef1"', false],
    ['Abcdef1`', false],
    ['Abcdef1₩', false],
    ['Abc def1!', false],
  ])('NCP %j accepted: %s', (pw, ok) => {
    const v = checkNcpPassword(pw);
    expect(v === undefined).toBe(ok);
    if (v) expect(v.code).toBe('1001');
  });

  it('never echoes the password in the message', () => {
    expect(checkCssPassword('Xadmin-1234')?.message).not.toContain('Xadmin-1234');
    expect(checkNcpPassword('Abcdef1/')?.message).not.toContain('Abcdef1/');
  });
});
