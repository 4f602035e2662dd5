import { describe, expect, it } from 'vitest';
import { describeProblems, parseRotationRequest } from '../../src/requests/contract.js';

const problemsOf = (data: unknown) => {
  const r = parseRotationRequest(data);
  if (r.ok) throw new Error(`expected problems, got ${JSON.stringify(r.value)}`);
  return describeProblems(r.problems);
};

describe('the requests queue contract (version 1)', () => {
  it('accepts one target or all, with an actor and the optional reason, priority and version', () => {
    expect(parseRotationRequest({ targetId: 'a', actor: ' bot ' })).toEqual({
      ok: true,
      value: { targetId: 'a', actor: 'bot' },
    });
    expect(
      parseRotationRequest({ all: true, actor: 'bot', reason: 'INC-1', priority: 'urgent', version: 1 }),
    ).toEqual({
      ok: true,
      value: { all: true, actor: 'bot', reason: 'INC-1', priority: 'urgent', version: 1 },
    });
  });

  it('names the field of every problem', () => {
    expect(problemsOf({ targetId: 'a' })).toBe('actor: required');
    expect(problemsOf({ targetId: 'a', actor: '  ' })).toBe('actor: must not be empty');
    expect(problemsOf({ targetId: 7, actor: 'x' })).toBe('targetId: must be a string (a target id)');
    expect(problemsOf({ targetId: 'a', actor: 'x', priority: 'high' })).toBe(
      'priority: must be "normal" or "urgent"',
    );
    expect(problemsOf({ all: 'yes', actor: 'x' })).toBe('all: must be true');
    expect(problemsOf({ all: true, targetId: 'a', actor: 'x' })).toBe(
      'data: give either "targetId" or "all", not both',
    );
    expect(problemsOf({ targetID: 'a', actor: 'x' })).toBe(
      'targetId: required (or "all": true); targetID: unknown field',
    );
    expect(problemsOf({ targetId: 'a', actor: 'x', wait: true })).toBe('wait: unknown field');
    expect(problemsOf({ targetId: 'a', actor: 'x', version: 2 })).toBe(
      'version: unsupported contract version: this worker speaks version 1',
    );
    expect(problemsOf({ targetId: 'a', actor: 'x', reason: 'r'.repeat(501) })).toBe(
      'reason: must be at most 500 characters',
    );
    expect(problemsOf('a')).toMatch(/^data: must be a JSON object/);
    expect(problemsOf(null)).toMatch(/^data: must be a JSON object/);
    expect(problemsOf(['a'])).toMatch(/^data: must be a JSON object/);
  });
});
