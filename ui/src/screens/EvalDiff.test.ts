import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  evalSets: vi.fn(),
  gitRefs: vi.fn(),
  evalDiff: vi.fn(),
}));

import { ApiError, evalDiff, evalSets, gitRefs } from '../lib/api';
import type { EvalDiff as EvalDiffResult, GitRefs } from '../lib/types';
import { caseDiff, caseSide, commit, evalDiff as diffFixture, evalSet } from '../test-fixtures';
import EvalDiff from './EvalDiff.svelte';

const setsMock = vi.mocked(evalSets);
const refsMock = vi.mocked(gitRefs);
const diffMock = vi.mocked(evalDiff);

function refs(overrides: Partial<GitRefs> = {}): GitRefs {
  return {
    is_git: true,
    branches: ['main', 'feature/short-answers'],
    tags: ['v1.0'],
    commits: [commit('c', { summary: 'Shorter answers' }), commit('b', { summary: 'Add refund cases' })],
    dirty: true,
    ...overrides,
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(hash: string): Promise<HTMLElement> {
  window.history.replaceState(null, '', `/${hash}`);
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(EvalDiff, { target });
  await settle();
  return target;
}

function byTestId<T extends HTMLElement = HTMLElement>(view: HTMLElement, id: string): T {
  const element = view.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`no [data-testid="${id}"]`);
  return element;
}

function choose(select: HTMLSelectElement, value: string): void {
  select.value = value;
  select.dispatchEvent(new Event('change', { bubbles: true }));
  flushSync();
}

function rowIds(view: HTMLElement): string[] {
  return [...view.querySelectorAll('[data-testid^="diff-row-"]')]
    .map((row) => row.getAttribute('data-testid') ?? '')
    .filter((id) => id !== 'diff-row-count');
}

function withCases(overrides: Partial<EvalDiffResult> = {}): EvalDiffResult {
  return diffFixture({
    cases: [
      caseDiff('refund-1', 'regressed', {
        score_delta: -1,
        cost_delta: 0.0002,
        latency_delta_ms: 120,
        base: caseSide('pass', { output: 'Refunds take [up to] 5 days.' }),
        head: caseSide('fail', { output: 'Refunds take {about} a week.', reasons: ['expected "5 days"'] }),
        output_diff: 'Refunds take [-[up to] 5 days.-]{+{about} a week.+}',
      }),
      caseDiff('tone/2', 'fixed', { flaky: true }),
      caseDiff('greeting', 'unchanged'),
    ],
    counts: { regressed: 1, errored: 0, fixed: 1, still_failing: 0, new: 0, removed: 0, unchanged: 1, flaky: 1 },
    paired: {
      test: "McNemar's exact test",
      regressed: 1,
      fixed: 1,
      p_value: 1,
      significantly_worse: false,
      significantly_better: false,
    },
    gates: [
      { name: 'no_regressions', threshold: 0, actual: 1, passed: false },
      { name: 'pass_rate', threshold: 0.85, actual: 0.8, passed: false },
    ],
    passed: false,
    ...overrides,
  });
}

beforeEach(() => {
  setsMock.mockReset();
  refsMock.mockReset();
  diffMock.mockReset();
  setsMock.mockResolvedValue([evalSet('support', { has_cassette: true }), evalSet('billing')]);
  refsMock.mockResolvedValue(refs());
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('EvalDiff pickers', () => {
  it('defaults to the previous commit against the working tree, replaying when a cassette exists', async () => {
    diffMock.mockResolvedValue(withCases());
    const view = await render('#/evals/diff?evalset=support');

    expect(byTestId<HTMLSelectElement>(view, 'diff-evalset').value).toBe('support');
    expect(byTestId<HTMLSelectElement>(view, 'diff-base').value).toBe('HEAD~1');
    expect(byTestId<HTMLSelectElement>(view, 'diff-head').value).toBe('WORKTREE');
    expect(byTestId(view, 'diff-head').textContent).toContain('Working tree (uncommitted changes)');
    expect(byTestId(view, 'diff-base').textContent).toContain('feature/short-answers');
    expect(byTestId(view, 'diff-base').textContent).toContain('ccccccc Shorter answers');
    expect(byTestId<HTMLInputElement>(view, 'diff-replay').checked).toBe(true);
    // Comparing may run evals: it waits for the button.
    expect(diffMock).not.toHaveBeenCalled();

    byTestId(view, 'diff-run').click();
    await settle();
    expect(diffMock).toHaveBeenCalledWith({
      evalset: 'support',
      base: 'HEAD~1',
      head: 'WORKTREE',
      replay: true,
      gates: { no_regressions: true },
    });
  });

  it('sends the picked refs, replay and repeat, and keeps them in the hash', async () => {
    diffMock.mockResolvedValue(withCases());
    const view = await render('#/evals/diff?evalset=support');

    choose(byTestId<HTMLSelectElement>(view, 'diff-evalset'), 'billing');
    expect(byTestId<HTMLInputElement>(view, 'diff-replay').checked).toBe(false);
    choose(byTestId<HTMLSelectElement>(view, 'diff-base'), 'v1.0');
    choose(byTestId<HTMLSelectElement>(view, 'diff-head'), 'c'.repeat(40));
    const repeat = byTestId<HTMLInputElement>(view, 'diff-repeat');
    repeat.value = '3';
    repeat.dispatchEvent(new Event('change', { bubbles: true }));
    byTestId<HTMLInputElement>(view, 'diff-replay').click();
    flushSync();

    const params = new URLSearchParams(window.location.hash.split('?')[1]);
    expect(window.location.hash.startsWith('#/evals/diff?')).toBe(true);
    expect(Object.fromEntries(params)).toEqual({
      evalset: 'billing',
      base: 'v1.0',
      head: 'c'.repeat(40),
      replay: '1',
      repeat: '3',
    });

    byTestId(view, 'diff-run').click();
    await settle();
    expect(diffMock).toHaveBeenCalledWith({
      evalset: 'billing',
      base: 'v1.0',
      head: 'c'.repeat(40),
      replay: true,
      repeat: 3,
      gates: { no_regressions: true },
    });
  });

  it('reads a linked comparison from the hash, keeping refs it does not list', async () => {
    const view = await render('#/evals/diff?evalset=support&base=abc1234&head=main&replay=0');
    expect(byTestId<HTMLSelectElement>(view, 'diff-base').value).toBe('abc1234');
    expect(byTestId<HTMLSelectElement>(view, 'diff-head').value).toBe('main');
    expect(byTestId<HTMLInputElement>(view, 'diff-replay').checked).toBe(false);
  });

  it('shows a spinner and disables Compare while the diff runs, and shows a failure', async () => {
    let fail: (error: unknown) => void = () => {};
    diffMock.mockReturnValue(new Promise((_, reject) => (fail = reject)));
    const view = await render('#/evals/diff?evalset=support');

    byTestId(view, 'diff-run').click();
    await settle();
    const button = byTestId<HTMLButtonElement>(view, 'diff-run');
    expect(button.disabled).toBe(true);
    expect(button.textContent).toContain('Comparing');
    expect(button.querySelector('.spinner')).not.toBeNull();

    fail(new ApiError('invalid_input', 'unknown revision HEAD~1: the repository has one commit'));
    await settle();
    expect(button.disabled).toBe(false);
    expect(byTestId(view, 'error-banner').textContent).toContain('unknown revision HEAD~1');
  });

  it('says comparing needs git outside a repository', async () => {
    refsMock.mockResolvedValue(refs({ is_git: false, branches: [], tags: [], commits: [], dirty: false }));
    const view = await render('#/evals/diff?evalset=support');
    expect(byTestId(view, 'diff-no-git').textContent).toContain('needs git');
    expect(byTestId<HTMLButtonElement>(view, 'diff-run').disabled).toBe(true);
  });
});

describe('EvalDiff result', () => {
  it('summarises both sides with deltas, counts, the paired test, gates and the verdict', async () => {
    diffMock.mockResolvedValue(withCases());
    const view = await render('#/evals/diff?evalset=support');
    byTestId(view, 'diff-run').click();
    await settle();

    const summary = byTestId(view, 'diff-summary');
    const verdict = byTestId(summary, 'diff-verdict');
    expect(verdict.dataset.passed).toBe('false');
    expect(verdict.textContent).toContain('✗');
    const passRate = byTestId(summary, 'diff-metric-pass-rate').textContent?.replace(/\s+/g, ' ');
    expect(passRate).toContain('90%');
    expect(passRate).toContain('80%');
    expect(passRate).toContain('−10 pp');
    expect(byTestId(summary, 'diff-metric-cost').textContent).toContain('+12%');
    expect(byTestId(summary, 'diff-metric-score').textContent).toContain('−0.05');
    expect(byTestId(summary, 'diff-metric-latency').textContent).toContain('+12.5%');
    expect(byTestId(summary, 'diff-count-regressed').textContent).toContain('1');
    expect(byTestId(summary, 'diff-count-fixed').textContent).toContain('Fixed');
    expect(byTestId(summary, 'diff-count-flaky').textContent).toContain('1');
    const paired = byTestId(summary, 'diff-paired').textContent?.replace(/\s+/g, ' ');
    expect(paired).toContain("McNemar's exact test");
    expect(paired).toContain('p = 1');
    expect(paired).toContain('no significant difference');
    expect(byTestId(summary, 'diff-gate-pass_rate').dataset.passed).toBe('false');
    expect(byTestId(summary, 'diff-gate-pass_rate').textContent).toContain('≥ 85%');
    expect(summary.querySelector('a[href="#/evals/run/run-HEAD~1"]')).not.toBeNull();
  });

  it('lists regressions first, hides unchanged cases until asked, and marks flaky ones', async () => {
    diffMock.mockResolvedValue(withCases());
    const view = await render('#/evals/diff?evalset=support');
    byTestId(view, 'diff-run').click();
    await settle();

    expect(rowIds(view)).toEqual(['diff-row-regressed-refund-1', 'diff-row-fixed-tone_2']);
    expect(byTestId(view, 'diff-row-regressed-refund-1').textContent).toContain('▼ Regressed');
    expect(byTestId(view, 'diff-row-regressed-refund-1').textContent).toContain('−1.00');
    expect(byTestId(view, 'diff-row-regressed-refund-1').textContent).toContain('+120 ms');
    expect(byTestId(view, 'diff-row-fixed-tone_2').querySelector('[data-testid="flaky"]')).not.toBeNull();
    expect(byTestId(view, 'diff-row-count').textContent).toContain('1 unchanged hidden');

    const only = byTestId<HTMLInputElement>(view, 'diff-only-differences');
    expect(only.checked).toBe(true);
    only.click();
    flushSync();
    expect(rowIds(view)).toEqual(['diff-row-regressed-refund-1', 'diff-row-fixed-tone_2', 'diff-row-unchanged-greeting']);
    expect(window.location.hash).toContain('show=all');
  });

  it('expands a row into both outputs, their reasons and an inline word diff', async () => {
    diffMock.mockResolvedValue(withCases());
    const view = await render('#/evals/diff?evalset=support');
    byTestId(view, 'diff-run').click();
    await settle();

    expect(view.querySelector('[data-testid="diff-output"]')).toBeNull();
    byTestId(view, 'diff-row-regressed-refund-1').click();
    flushSync();

    const output = byTestId(view, 'diff-output');
    expect(output.textContent).toContain('Refunds take [up to] 5 days.');
    expect(output.textContent).toContain('Refunds take {about} a week.');
    expect(output.textContent).toContain('expected "5 days"');
    const words = byTestId(output, 'word-diff');
    expect([...words.querySelectorAll('del')].map((node) => node.textContent)).toEqual(['[up to] 5 days.']);
    expect([...words.querySelectorAll('ins')].map((node) => node.textContent)).toEqual(['{about} a week.']);
    expect(words.textContent).toBe('Refunds take [up to] 5 days.{about} a week.');

    byTestId(view, 'diff-row-regressed-refund-1').click();
    flushSync();
    expect(view.querySelector('[data-testid="diff-output"]')).toBeNull();
  });
});
