import { describe, expect, it } from 'vitest';
import { mayLeave, setLeaveGuard } from './leaveGuard';

describe('leave guard', () => {
  it('lets navigation through unless the installed guard refuses', () => {
    expect(mayLeave('#/traces')).toBe(true);
    const seen: string[] = [];
    const remove = setLeaveGuard((next) => {
      seen.push(next);
      return next !== '#/traces';
    });
    expect(mayLeave('#/traces')).toBe(false);
    expect(mayLeave('#/evals')).toBe(true);
    expect(seen).toEqual(['#/traces', '#/evals']);
    remove();
    expect(mayLeave('#/traces')).toBe(true);
  });

  it('keeps a newer guard when an older one is removed', () => {
    const removeOld = setLeaveGuard(() => true);
    const removeNew = setLeaveGuard(() => false);
    removeOld();
    expect(mayLeave('#/x')).toBe(false);
    removeNew();
    expect(mayLeave('#/x')).toBe(true);
  });
});
