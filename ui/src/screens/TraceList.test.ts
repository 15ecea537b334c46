import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listTraces: vi.fn(),
}));

import { ApiError, listTraces } from '../lib/api';
import { traceListState } from '../lib/listState.svelte';
import type { TraceSummary } from '../lib/types';
import TraceList from './TraceList.svelte';

const listTracesMock = vi.mocked(listTraces);

function summary(id: string, overrides: Partial<TraceSummary> = {}): TraceSummary {
  return {
    trace_id: id,
    name: `trace ${id}`,
    service: 'checkout',
    start_time: '2026-11-27T04:16:30.123Z',
    duration_ms: 1250,
    span_count: 4,
    error_count: 0,
    status: 'ok',
    models: ['gpt-4o-mini'],
    input_tokens: 1200,
    output_tokens: 80,
    ...overrides,
  };
}

/** Lets pending promise callbacks and the effects they trigger run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

function render(): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(TraceList, { target });
  flushSync();
  return target;
}

beforeEach(() => {
  listTracesMock.mockReset();
  Object.assign(traceListState, { searchInput: '', search: '', offset: 0 });
  window.location.hash = '';
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.useRealTimers();
});

describe('TraceList', () => {
  it('requests the first page and renders one clickable row per trace', async () => {
    listTracesMock.mockResolvedValue({
      traces: [summary('t1'), summary('t2', { status: 'error', error_count: 2 })],
      total: 2,
    });

    const view = render();
    await settle();

    expect(listTracesMock).toHaveBeenCalledWith({ limit: 50, offset: 0 });
    const rows = view.querySelectorAll<HTMLElement>('[data-testid="trace-row"]');
    expect([...rows].map((row) => row.dataset.traceId)).toEqual(['t1', 't2']);
    expect(view.querySelector('[data-testid="trace-total"]')?.textContent).toContain('2');
    expect(rows[1]?.textContent).toContain('Error');

    rows[1]?.click();
    expect(window.location.hash).toBe('#/traces/t2');
  });

  it('opens a trace from the keyboard', async () => {
    listTracesMock.mockResolvedValue({ traces: [summary('t1')], total: 1 });
    const view = render();
    await settle();

    const row = view.querySelector<HTMLElement>('[data-testid="trace-row"]');
    expect(row?.tabIndex).toBe(0);
    row?.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));

    expect(window.location.hash).toBe('#/traces/t1');
  });

  it('shows the empty state with the import hint when there are no traces', async () => {
    listTracesMock.mockResolvedValue({ traces: [], total: 0 });

    const view = render();
    await settle();

    const empty = view.querySelector('[data-testid="empty-state"]');
    expect(empty?.textContent).toContain('No traces yet');
    expect(empty?.textContent).toContain('assay import FILE');
    expect(view.querySelector('[data-testid="trace-total"]')?.textContent).toContain('0');
  });

  it('shows backend errors with their code in a banner', async () => {
    listTracesMock.mockRejectedValue(new ApiError('unauthorized', 'missing token'));

    const view = render();
    await settle();

    const banner = view.querySelector('[data-testid="error-banner"]');
    expect(banner?.textContent).toContain('unauthorized');
    expect(banner?.textContent).toContain('missing token');
  });

  it('sends the search after a pause in typing, back on the first page', async () => {
    vi.useFakeTimers();
    listTracesMock.mockResolvedValue({ traces: [summary('t1')], total: 120 });
    const view = render();
    await settle();

    view.querySelector<HTMLButtonElement>('.pager button:last-child')?.click();
    flushSync();
    await settle();
    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 50 });

    const input = view.querySelector<HTMLInputElement>('input[type="search"]')!;
    for (const text of ['r', 're', 'ref']) {
      input.value = text;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      flushSync();
      vi.advanceTimersByTime(100);
    }
    expect(listTracesMock).toHaveBeenCalledTimes(2);

    vi.advanceTimersByTime(250);
    flushSync();
    await settle();

    expect(listTracesMock).toHaveBeenCalledTimes(3);
    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 0, search: 'ref' });
  });
});
