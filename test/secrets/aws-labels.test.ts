import { describe, expect, it } from 'vitest';
import {
  holderOf,
  isUnconfirmedCurrent,
  labelsAfterCurrentMove,
  needsUnconfirmedMark,
  PUT_LABEL,
  stagingLabel,
  unconfirmedCleanup,
  UNCONFIRMED_LABEL,
  visibleStages,
} from '../../src/secrets/aws-secrets-manager/labels.js';

describe('aws label rules (pure)', () => {
  it('visibleStages hides current and previous on unconfirmed, pending or own-labelled versions', () => {
    expect(visibleStages(['AWSCURRENT'])).toEqual(['AWSCURRENT']);
    expect(visibleStages(['AWSPREVIOUS', PUT_LABEL])).toEqual(['AWSPREVIOUS']);
    expect(visibleStages(['AWSCURRENT', 'AWSPENDING'])).toEqual(['AWSPENDING']);
    expect(visibleStages(['AWSCURRENT', UNCONFIRMED_LABEL])).toEqual([]);
    expect(visibleStages(['AWSCURRENT', stagingLabel('v1')])).toEqual([]);
    expect(visibleStages(['AWSPREVIOUS', stagingLabel('v1')])).toEqual([]);
    expect(visibleStages(['AWSPREVIOUS', 'AWSPENDING'])).toEqual(['AWSPENDING']);
  });

  it('isUnconfirmedCurrent needs AWSCURRENT plus a mark of a first version', () => {
    expect(isUnconfirmedCurrent(['AWSCURRENT'])).toBe(false);
    expect(isUnconfirmedCurrent(['AWSPENDING'])).toBe(false);
    expect(isUnconfirmedCurrent(['AWSCURRENT', 'AWSPENDING'])).toBe(true);
    expect(isUnconfirmedCurrent(['AWSCURRENT', UNCONFIRMED_LABEL])).toBe(true);
    expect(isUnconfirmedCurrent(['AWSCURRENT', stagingLabel('v1')])).toBe(true);
  });

  it('needsUnconfirmedMark is a pending first version not marked yet', () => {
    expect(needsUnconfirmedMark(['AWSCURRENT', 'AWSPENDING'])).toBe(true);
    expect(needsUnconfirmedMark(['AWSCURRENT', 'AWSPENDING', UNCONFIRMED_LABEL])).toBe(false);
    expect(needsUnconfirmedMark(['AWSCURRENT'])).toBe(false);
    expect(needsUnconfirmedMark(['AWSPENDING'])).toBe(false);
  });

  it('holderOf finds the version holding a label', () => {
    const all = new Map([
      ['a', ['AWSCURRENT']],
      ['b', ['AWSPENDING', PUT_LABEL]],
    ]);
    expect(holderOf(all, 'AWSPENDING')).toBe('b');
    expect(holderOf(all, 'AWSCURRENT')).toBe('a');
    expect(holderOf(all, 'AWSPREVIOUS')).toBeUndefined();
  });

  it('labelsAfterCurrentMove strips current and previous and makes the old current previous', () => {
    const all = new Map([
      ['old', ['AWSCURRENT']],
      ['older', ['AWSPREVIOUS']],
      ['new', ['AWSPENDING']],
    ]);
    expect(labelsAfterCurrentMove(all, 'old')).toEqual(
      new Map([
        ['old', ['AWSPREVIOUS']],
        ['older', []],
        ['new', ['AWSPENDING']],
      ]),
    );
    expect(labelsAfterCurrentMove(all, undefined).get('old')).toEqual([]);
    // The input is not changed.
    expect(all.get('old')).toEqual(['AWSCURRENT']);
  });

  it('unconfirmedCleanup lists what a promote takes off a never-confirmed version', () => {
    expect(unconfirmedCleanup(['AWSPREVIOUS'])).toEqual({
      dropPrevious: false,
      dropUnconfirmed: false,
      stray: [],
    });
    expect(unconfirmedCleanup(['AWSPREVIOUS', UNCONFIRMED_LABEL])).toEqual({
      dropPrevious: true,
      dropUnconfirmed: true,
      stray: [],
    });
    expect(unconfirmedCleanup(['AWSPREVIOUS', 'AWSPENDING'])).toEqual({
      dropPrevious: true,
      dropUnconfirmed: false,
      stray: [],
    });
    expect(unconfirmedCleanup([stagingLabel('v1')])).toEqual({
      dropPrevious: false,
      dropUnconfirmed: false,
      stray: [stagingLabel('v1')],
    });
  });
});
