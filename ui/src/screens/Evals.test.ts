import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  evalSets: vi.fn(),
  evalRuns: vi.fn(),
  evalStart: vi.fn(),
  evalProgress: vi.fn(),
  evalCancel: vi.fn(),
}));

import { ApiError, evalCancel, evalProgress, evalRuns, evalSets, evalStart } from '../lib/api';
import { evalSet, progress, runBrief } from '../test-fixtures';
import Evals from './Evals.svelte';

const setsMock = vi.mocked(evalSets);
const runsMock = vi.mocked(evalRuns);
const startMock = vi.mocked(evalStart);
const progressMock = vi.mocked(evalProgress);
const cancelMock = vi.mocked(evalCancel);

async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(): Promise<HTMLElement> {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(Evals, { target });
  await settle();
  return target;
}

function byTestId<T extends HTMLElement = HTMLElement>(view: HTMLElement, id: string): T {
  const element = view.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`no [data-testid="${id}"]`);
  return element;
}

beforeEach(() => {
  setsMock.mockReset();
  runsMock.mockReset();
  startMock.mockReset();
  progressMock.mockReset();
  cancelMock.mockReset();
  window.history.replaceState(null, '', '/#/evals');
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.useRealTimers();
});

describe('Evals', () => {
  it('lists the eval sets with their shape, offline badge and load errors', async () => {
    setsMock.mockResolvedValue([
      evalSet('support', { has_cassette: true, cases: 12, prompts: ['short', 'long'] }),
      evalSet('broken', {
        error: { code: 'invalid_input', message: 'evalsets/broken/evalset.yaml: line 3: unknown field `prompt`' },
        prompts: [],
        providers: [],
        cases: 0,
      }),
    ]);
    runsMock.mockResolvedValue([]);

    const view = await render();

    const support = byTestId(view, 'evalset-support');
    expect(support.textContent).toContain('Checks support');
    expect(support.textContent).toContain('2 prompts × 2 providers');
    expect(support.textContent).toContain('12 cases');
    expect(support.querySelector('[data-testid="evalset-offline"]')).not.toBeNull();
    expect(byTestId<HTMLInputElement>(view, 'replay-support').checked).toBe(true);
    expect(byTestId<HTMLButtonElement>(view, 'run-support').disabled).toBe(false);

    const broken = byTestId(view, 'evalset-broken');
    expect(broken.querySelector('[data-testid="evalset-offline"]')).toBeNull();
    expect(byTestId(broken, 'evalset-error').textContent).toContain('unknown field `prompt`');
    expect(byTestId<HTMLInputElement>(view, 'replay-broken').checked).toBe(false);
    expect(byTestId<HTMLButtonElement>(view, 'run-broken').disabled).toBe(true);

    // A loadable eval set links to its commit comparison and trend; a broken one does not.
    expect(byTestId<HTMLAnchorElement>(view, 'compare-support').getAttribute('href')).toBe('#/evals/diff?evalset=support');
    expect(byTestId<HTMLAnchorElement>(view, 'trend-support').getAttribute('href')).toBe('#/evals/trend?evalset=support');
    expect(broken.querySelector('[data-testid="compare-broken"]')).toBeNull();
  });

  it('tells the user how to add and run eval sets when there are none', async () => {
    setsMock.mockResolvedValue([]);
    runsMock.mockResolvedValue([]);

    const view = await render();

    expect(byTestId(view, 'evalsets-empty').textContent).toContain('assay eval run NAME');
    expect(byTestId(view, 'runs-empty').textContent).toContain('assay eval run NAME');
  });

  it('lists runs with commit, counts, cost and gate verdicts, and opens one on click', async () => {
    setsMock.mockResolvedValue([evalSet('support')]);
    runsMock.mockResolvedValue([
      runBrief('r-new', { git_dirty: true, gates_passed: false, pass: 7, fail: 2, error: 1, pass_rate: 0.7777 }),
      runBrief('r-old', { git_commit: null, git_dirty: null, gates_passed: null, cost: 1.5 }),
    ]);

    const view = await render();

    expect(runsMock).toHaveBeenCalledWith({});
    const newest = byTestId(view, 'run-row-r-new');
    expect(newest.textContent).toContain('3f9a2c1d');
    expect(newest.textContent).not.toContain('3f9a2c1d4e');
    expect(newest.textContent).toContain('dirty');
    expect(newest.textContent).toContain('77.8%');
    expect(newest.textContent?.replace(/\s+/g, ' ')).toContain('7 / 2 / 1');
    expect(newest.textContent).toContain('42 s');
    expect(byTestId(newest, 'gates-r-new').textContent).toContain('failed');
    const old = byTestId(view, 'run-row-r-old');
    expect(old.textContent).toContain('$1.5');
    expect(old.textContent).not.toContain('dirty');
    expect(old.querySelector('[data-testid="gates-r-old"]')).toBeNull();
    expect(byTestId(view, 'gates-r-new').textContent).not.toContain('passed');

    old.click();
    expect(window.location.hash).toBe('#/evals/run/r-old');
  });

  it('starts a run, polls its progress every 300 ms, then refreshes the runs and links to the run', async () => {
    vi.useFakeTimers();
    setsMock.mockResolvedValue([evalSet('support', { has_cassette: true })]);
    runsMock.mockResolvedValue([]);
    startMock.mockResolvedValue(progress('run-9'));
    progressMock
      .mockResolvedValueOnce(progress('run-9', { done: 2, pass: 1, fail: 1, cost: 0.25 }))
      .mockResolvedValueOnce(progress('run-9', { status: 'completed', done: 4, pass: 3, fail: 1, cost: 0.5 }));

    const view = await render();
    byTestId<HTMLInputElement>(view, 'replay-support').click();
    flushSync();
    byTestId(view, 'run-support').click();
    await settle();

    expect(startMock).toHaveBeenCalledWith({ target: 'support', replay: false });
    expect(byTestId<HTMLButtonElement>(view, 'run-support').disabled).toBe(true);
    expect(byTestId(view, 'eval-progress-done').textContent).toBe('0 / 4');
    expect(progressMock).not.toHaveBeenCalled();

    await vi.advanceTimersByTimeAsync(299);
    expect(progressMock).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(progressMock).toHaveBeenCalledWith('run-9');
    const bar = byTestId(view, 'eval-progress');
    expect(byTestId(bar, 'eval-progress-done').textContent).toBe('2 / 4');
    expect(bar.textContent).toContain('✓ 1');
    expect(bar.textContent).toContain('✗ 1');
    expect(bar.textContent).toContain('$0.25');
    expect(bar.querySelector('[role="progressbar"]')?.getAttribute('aria-valuenow')).toBe('2');
    expect(view.querySelector('[data-testid="open-run-support"]')).toBeNull();

    runsMock.mockResolvedValue([runBrief('run-9')]);
    await vi.advanceTimersByTimeAsync(300);
    await settle();
    expect(progressMock).toHaveBeenCalledTimes(2);
    expect(byTestId(view, 'eval-progress').dataset.status).toBe('completed');
    expect(byTestId<HTMLAnchorElement>(view, 'open-run-support').getAttribute('href')).toBe('#/evals/run/run-9');
    expect(view.querySelector('[data-testid="eval-cancel"]')).toBeNull();
    expect(runsMock).toHaveBeenCalledTimes(2);
    expect(view.querySelector('[data-testid="run-row-run-9"]')).not.toBeNull();
    expect(byTestId<HTMLButtonElement>(view, 'run-support').disabled).toBe(false);

    // Finished: no more polling.
    await vi.advanceTimersByTimeAsync(3000);
    expect(progressMock).toHaveBeenCalledTimes(2);
  });

  it('cancels a running run and stops polling', async () => {
    vi.useFakeTimers();
    setsMock.mockResolvedValue([evalSet('support')]);
    runsMock.mockResolvedValue([]);
    startMock.mockResolvedValue(progress('run-5', { done: 1 }));
    cancelMock.mockResolvedValue(progress('run-5', { status: 'interrupted', done: 1 }));

    const view = await render();
    byTestId(view, 'run-support').click();
    await settle();
    expect(startMock).toHaveBeenCalledWith({ target: 'support', replay: false });

    byTestId(view, 'eval-cancel').click();
    await settle();

    expect(cancelMock).toHaveBeenCalledWith('run-5');
    expect(byTestId(view, 'eval-progress').textContent).toContain('Interrupted');
    await vi.advanceTimersByTimeAsync(1000);
    expect(progressMock).not.toHaveBeenCalled();
    expect(view.querySelector('[data-testid="open-run-support"]')).not.toBeNull();
  });

  it('shows why a run could not start', async () => {
    setsMock.mockResolvedValue([evalSet('support')]);
    runsMock.mockResolvedValue([]);
    startMock.mockRejectedValue(new ApiError('invalid_input', 'no key for openai: set OPENAI_API_KEY'));

    const view = await render();
    byTestId(view, 'run-support').click();
    await settle();

    expect(byTestId(view, 'evalset-support').textContent).toContain('no key for openai');
    expect(byTestId<HTMLButtonElement>(view, 'run-support').disabled).toBe(false);
  });
});
