import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  evalRunGet: vi.fn(),
  evalProgress: vi.fn(),
  evalCancel: vi.fn(),
}));

import { ApiError, evalCancel, evalProgress, evalRunGet } from '../lib/api';
import type { EvalRunDetail } from '../lib/types';
import { evalCase, progress, result, runDetail } from '../test-fixtures';
import EvalRun from './EvalRun.svelte';

const getMock = vi.mocked(evalRunGet);
const progressMock = vi.mocked(evalProgress);
const cancelMock = vi.mocked(evalCancel);

async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(runId = 'run-1'): Promise<HTMLElement> {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(EvalRun, { target, props: { runId } });
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

function caseRows(view: HTMLElement): string[] {
  return [...view.querySelectorAll<HTMLElement>('[data-testid^="case-row-"]')].map(
    (row) => row.dataset.testid ?? '',
  );
}

/** Three cases, two providers, with failures, an error, tags, gates and an unsupported assertion. */
function richRun(overrides: Partial<EvalRunDetail> = {}): EvalRunDetail {
  const base = runDetail(
    {
      providers: [
        { id: 'openai:gpt-4o-mini', label: 'gpt-4o-mini' },
        { id: 'claude-haiku', label: 'claude-haiku' },
      ],
      cases: [
        evalCase(0, { tags: ['smoke'], vars: { question: 'Where is my refund?' } }),
        evalCase(1, { tags: ['billing'], description: 'Asks about an invoice' }),
        evalCase(2, { tags: ['smoke'] }),
      ],
      results: [
        result(0, 'answer', 'openai:gpt-4o-mini', { output: 'Refunds take 5 days.' }),
        result(0, 'answer', 'claude-haiku', {
          outcome: 'fail',
          score: 0.5,
          output: 'I cannot help with that.',
          trace_id: 'trace-42',
          ttft_ms: 120,
          cached: true,
          rendered: [
            { role: 'system', content: 'You are a support agent.' },
            { role: 'user', content: 'Where is my refund?' },
          ],
          assertions: [
            { kind: 'contains', pass: false, score: 0, reason: 'expected "refund" in the output', weight: 1 },
            { kind: 'llm-rubric', pass: true, score: 1, reason: 'polite', weight: 1, metric: 'tone' },
            { kind: 'javascript', pass: false, score: 0, reason: 'not supported', weight: 1, unsupported: true },
            { kind: 'factuality', pass: false, score: 0, reason: 'judge call failed: HTTP 500', weight: 1, error: true },
          ],
        }),
        result(1, 'answer', 'openai:gpt-4o-mini', { outcome: 'error', output: null, error: 'HTTP 429: rate limited' }),
        result(1, 'answer', 'claude-haiku', { outcome: 'error', output: null, error: 'HTTP 429: rate limited' }),
        result(2, 'answer', 'openai:gpt-4o-mini'),
        result(2, 'answer', 'claude-haiku'),
      ],
      ...overrides,
    },
    { status: 'completed', gates_passed: false, git_dirty: true },
  );
  base.summary.gates = [
    { name: 'pass_rate', threshold: 0.9, actual: 0.75, passed: false },
    { name: 'metric:tone', threshold: 0.5, actual: 1, passed: true },
  ];
  base.summary.passed = false;
  base.summary.metrics = [{ name: 'tone', mean: 1, count: 1 }];
  base.summary.unsupported = [
    { what: 'assertion type javascript', location: 'promptfooconfig.yaml: tests[0].assert[2]' },
  ];
  base.summary.rows = [];
  return base;
}

beforeEach(() => {
  getMock.mockReset();
  progressMock.mockReset();
  cancelMock.mockReset();
  window.history.replaceState(null, '', '/#/evals/run/run-1');
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.useRealTimers();
});

describe('EvalRun', () => {
  it('shows the header, gate verdicts, summary, metrics and unsupported items', async () => {
    const detail = richRun();
    detail.summary.rows = runDetail().summary.rows;
    getMock.mockResolvedValue(detail);

    const view = await render();

    expect(getMock).toHaveBeenCalledWith('run-1');
    expect(view.querySelector('h1')?.textContent).toBe('support');
    expect(byTestId(view, 'run-status').textContent).toBe('Completed');
    expect(byTestId(view, 'run-verdict').textContent).toContain('Gates failed');
    expect(view.textContent).toContain('3f9a2c1d');
    expect(view.textContent).toContain('dirty');
    expect(view.textContent).toContain('42 s');

    const passRate = byTestId(view, 'gate-pass_rate');
    expect(passRate.dataset.passed).toBe('false');
    expect(passRate.textContent).toContain('fail');
    expect(passRate.textContent).toContain('≥ 90%');
    expect(passRate.textContent).toContain('75%');
    expect(byTestId(view, 'gate-metric_tone').textContent).toContain('pass');

    const summary = byTestId(view, 'summary-answer-gpt-4o-mini');
    expect(summary.textContent).toContain('100%');
    expect(summary.textContent).toContain('800 ms');
    expect(summary.textContent).toContain('1.5 s');
    expect(byTestId(view, 'metrics').textContent).toContain('tone');

    const unsupported = byTestId(view, 'unsupported');
    expect(unsupported.textContent).toContain('assertion type javascript');
    expect(unsupported.textContent).toContain('promptfooconfig.yaml: tests[0].assert[2]');
    expect(view.querySelector('[data-testid="eval-progress"]')).toBeNull();
  });

  it('draws a cell per case x column, coloured and labelled by outcome, with score and output', async () => {
    getMock.mockResolvedValue(richRun());
    const view = await render();

    expect(caseRows(view)).toEqual(['case-row-0', 'case-row-1', 'case-row-2']);
    const pass = byTestId(view, 'cell-0-answer-openai_gpt-4o-mini');
    expect(pass.dataset.outcome).toBe('pass');
    expect(pass.classList.contains('outcome-pass')).toBe(true);
    expect(pass.textContent).toContain('✓');
    expect(pass.textContent).toContain('Pass');
    expect(pass.textContent).toContain('1.00');
    expect(pass.textContent).toContain('Refunds take 5 days.');
    const fail = byTestId(view, 'cell-0-answer-claude-haiku');
    expect(fail.textContent).toContain('Fail');
    expect(fail.textContent).toContain('0.50');
    const errored = byTestId(view, 'cell-1-answer-claude-haiku');
    expect(errored.textContent).toContain('Error');
    expect(errored.textContent).toContain('HTTP 429');
    // An errored call was not graded: no score is shown for it.
    expect(errored.textContent).not.toContain('1.00');
  });

  it('shows "k/N passed" in cells of repeated cases', async () => {
    getMock.mockResolvedValue(
      runDetail({
        results: [
          result(0, 'answer', 'gpt-4o-mini', { repeat_index: 0 }),
          result(0, 'answer', 'gpt-4o-mini', { repeat_index: 1, outcome: 'fail', score: 0 }),
          result(0, 'answer', 'gpt-4o-mini', { repeat_index: 2 }),
        ],
      }),
    );
    const view = await render();

    const cell = byTestId(view, 'cell-0-answer-gpt-4o-mini');
    expect(cell.textContent).toContain('2/3 passed');
    expect(cell.dataset.outcome).toBe('fail');
    expect(byTestId(view, 'cell-1-answer-gpt-4o-mini').dataset.outcome).toBe('pending');

    cell.click();
    flushSync();
    const panel = byTestId(view, 'result-detail');
    expect(panel.textContent).toContain('2/3 repeats passed');
    byTestId(panel, 'repeat-1').click();
    flushSync();
    expect(byTestId(panel, 'repeat-1').getAttribute('aria-selected')).toBe('true');
  });

  it('filters by outcome, tag and text, keeping the filters in the hash', async () => {
    vi.useFakeTimers();
    getMock.mockResolvedValue(richRun());
    const view = await render();

    choose(byTestId<HTMLSelectElement>(view, 'grid-filter-outcome'), 'failures');
    expect(caseRows(view)).toEqual(['case-row-0']);
    expect(window.location.hash).toBe('#/evals/run/run-1?outcome=failures');

    choose(byTestId<HTMLSelectElement>(view, 'grid-filter-outcome'), 'errors');
    expect(caseRows(view)).toEqual(['case-row-1']);

    choose(byTestId<HTMLSelectElement>(view, 'grid-filter-outcome'), 'differences');
    expect(caseRows(view)).toEqual(['case-row-0']);

    choose(byTestId<HTMLSelectElement>(view, 'grid-filter-outcome'), 'all');
    const tags = byTestId<HTMLSelectElement>(view, 'grid-filter-tag');
    expect([...tags.options].map((option) => option.value)).toEqual(['', 'billing', 'smoke']);
    choose(tags, 'smoke');
    expect(caseRows(view)).toEqual(['case-row-0', 'case-row-2']);
    expect(window.location.hash).toBe('#/evals/run/run-1?tag=smoke');

    const search = byTestId<HTMLInputElement>(view, 'grid-search');
    search.value = 'cannot help';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(caseRows(view)).toEqual(['case-row-0', 'case-row-2']);
    await vi.advanceTimersByTimeAsync(250);
    flushSync();
    expect(caseRows(view)).toEqual(['case-row-0']);
    expect(window.location.hash).toBe('#/evals/run/run-1?tag=smoke&q=cannot+help');
    expect(byTestId(view, 'grid-count').textContent).toBe('1 of 3 cases');
  });

  it('starts from the filters in the hash and says when nothing matches', async () => {
    window.history.replaceState(null, '', '/#/evals/run/run-1?outcome=errors&tag=smoke');
    getMock.mockResolvedValue(richRun());
    const view = await render();

    expect(byTestId<HTMLSelectElement>(view, 'grid-filter-outcome').value).toBe('errors');
    expect(caseRows(view)).toEqual([]);
    expect(byTestId(view, 'grid-empty').textContent).toContain('No case matches');
  });

  it('opens a cell in the detail panel with the case, messages, output, assertions and trace link', async () => {
    getMock.mockResolvedValue(richRun());
    const view = await render();
    expect(view.querySelector('[data-testid="result-detail"]')).toBeNull();

    byTestId(view, 'cell-0-answer-claude-haiku').click();
    flushSync();

    expect(window.location.hash).toBe('#/evals/run/run-1?case=0&prompt=answer&provider=claude-haiku');
    const panel = byTestId(view, 'result-detail');
    expect(panel.textContent).toContain('case-0');
    expect(panel.textContent).toContain('Case number 0');
    expect(byTestId(panel, 'result-vars').textContent).toContain('Where is my refund?');
    expect(panel.textContent).toContain('smoke');
    expect(panel.textContent).toContain('evalsets/support/evalset.yaml: tests[0]');
    expect(byTestId(panel, 'result-output').textContent).toContain('I cannot help with that.');
    const messages = panel.querySelectorAll<HTMLElement>('[data-testid="span-message"]');
    expect([...messages].map((message) => message.dataset.role)).toEqual(['system', 'user']);

    const assertions = panel.querySelectorAll<HTMLElement>('[data-testid="assertion-row"]');
    expect(assertions).toHaveLength(4);
    expect(assertions[0]?.textContent).toContain('contains');
    expect(assertions[0]?.textContent).toContain('Fail');
    expect(assertions[0]?.textContent).toContain('expected "refund" in the output');
    expect(assertions[1]?.textContent).toContain('Pass');
    expect(assertions[1]?.textContent).toContain('tone');
    expect(assertions[2]?.textContent).toContain('unsupported');
    expect(assertions[2]?.classList.contains('unsupported')).toBe(true);
    expect(assertions[3]?.textContent).toContain('Error');
    expect(assertions[3]?.classList.contains('errored')).toBe(true);

    const facts = byTestId(panel, 'result-facts');
    expect(facts.textContent).toContain('820 ms');
    expect(facts.textContent).toContain('120 ms');
    expect(facts.textContent).toContain('120 / 30');
    expect(facts.textContent).toContain('$0.0004');
    expect(facts.textContent).toContain('yes');
    expect(byTestId<HTMLAnchorElement>(panel, 'result-trace-link').getAttribute('href')).toBe('#/traces/trace-42');

    byTestId(panel, 'result-detail-close').click();
    flushSync();
    expect(view.querySelector('[data-testid="result-detail"]')).toBeNull();
    expect(window.location.hash).toBe('#/evals/run/run-1');
  });

  it('shows the error of an errored cell and no trace link without a trace', async () => {
    window.history.replaceState(null, '', '/#/evals/run/run-1?case=1&prompt=answer&provider=openai%3Agpt-4o-mini');
    getMock.mockResolvedValue(richRun());
    const view = await render();

    const panel = byTestId(view, 'result-detail');
    expect(byTestId(panel, 'result-error').textContent).toContain('HTTP 429: rate limited');
    expect(panel.querySelector('[data-testid="result-output"]')).toBeNull();
    expect(panel.querySelector('[data-testid="result-trace-link"]')).toBeNull();
    expect(byTestId(view, 'cell-1-answer-openai_gpt-4o-mini').getAttribute('aria-pressed')).toBe('true');
  });

  it('polls progress and reloads every second while the run is running, then stops', async () => {
    vi.useFakeTimers();
    const running = runDetail({ results: [result(0, 'answer', 'gpt-4o-mini')] }, { status: 'running', done: 1 });
    const done = runDetail({}, { status: 'completed' });
    getMock.mockResolvedValueOnce(running).mockResolvedValueOnce(running).mockResolvedValue(done);
    progressMock
      .mockResolvedValueOnce(progress('run-1', { done: 2, pass: 2 }))
      .mockResolvedValue(progress('run-1', { status: 'completed', done: 4, pass: 4 }));

    const view = await render();
    expect(byTestId(view, 'run-status').textContent).toBe('Running');
    expect(byTestId(view, 'eval-progress-done').textContent).toBe('1 / 4');
    expect(byTestId(view, 'cell-1-answer-gpt-4o-mini').dataset.outcome).toBe('pending');

    await vi.advanceTimersByTimeAsync(999);
    expect(progressMock).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await settle();
    expect(progressMock).toHaveBeenCalledWith('run-1');
    expect(getMock).toHaveBeenCalledTimes(2);
    expect(byTestId(view, 'eval-progress-done').textContent).toBe('2 / 4');

    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(getMock).toHaveBeenCalledTimes(3);
    expect(byTestId(view, 'run-status').textContent).toBe('Completed');
    expect(view.querySelector('[data-testid="eval-progress"]')).toBeNull();
    expect(byTestId(view, 'cell-1-answer-gpt-4o-mini').dataset.outcome).toBe('pass');

    await vi.advanceTimersByTimeAsync(5000);
    expect(progressMock).toHaveBeenCalledTimes(2);
    expect(getMock).toHaveBeenCalledTimes(3);
  });

  it('cancels a running run from its page', async () => {
    getMock
      .mockResolvedValueOnce(runDetail({}, { status: 'running', done: 1 }))
      .mockResolvedValue(runDetail({}, { status: 'interrupted', done: 1 }));
    cancelMock.mockResolvedValue(progress('run-1', { status: 'interrupted', done: 1 }));
    const view = await render();

    byTestId(view, 'eval-cancel').click();
    await settle();

    expect(cancelMock).toHaveBeenCalledWith('run-1');
    expect(byTestId(view, 'run-status').textContent).toBe('Interrupted');
  });

  it('shows a failed load with its code', async () => {
    getMock.mockRejectedValue(new ApiError('not_found', 'no eval run run-1'));
    const view = await render();

    expect(byTestId(view, 'error-banner').textContent).toContain('not_found');
    expect(byTestId(view, 'error-banner').textContent).toContain('no eval run run-1');
  });
});
