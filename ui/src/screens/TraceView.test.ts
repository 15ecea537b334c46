import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  getTrace: vi.fn(),
}));

import { ApiError, getTrace } from '../lib/api';
import { traceListState } from '../lib/listState.svelte';
import { span } from '../test-fixtures';
import TraceView from './TraceView.svelte';

const getTraceMock = vi.mocked(getTrace);

const spans = [
  span('root', 0, { name: 'answer question', duration_ms: 2000 }),
  span('llm', 1, {
    name: 'chat completion',
    kind: 'llm',
    parent_span_id: 'root',
    offset_ms: 500,
    duration_ms: 1000,
    status: 'error',
    status_message: 'rate limited',
    provider: 'openai',
    model: 'gpt-4o',
    response_model: 'gpt-4o-2024-08-06',
    input_tokens: 1200,
    output_tokens: 30,
    input: '{"messages":[{"role":"user","content":"hi"}]}',
    output: 'plain answer',
    attributes: { 'gen_ai.request.temperature': 0.2 },
  }),
  span('tool', 2, { name: 'search docs', kind: 'tool', parent_span_id: 'llm', offset_ms: 600 }),
];

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(traceId = 'trace-1'): Promise<HTMLElement> {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(TraceView, { target, props: { traceId } });
  await settle();
  return target;
}

function rowIds(view: HTMLElement): string[] {
  return [...view.querySelectorAll<HTMLElement>('[data-testid="span-row"]')].map(
    (row) => row.dataset.spanId ?? '',
  );
}

beforeEach(() => {
  getTraceMock.mockReset();
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('TraceView', () => {
  it('renders one row per span with its depth, and a header', async () => {
    getTraceMock.mockResolvedValue({ trace_id: 'trace-1', spans });

    const view = await render();

    expect(getTraceMock).toHaveBeenCalledWith('trace-1');
    const root = view.querySelector('[data-testid="trace-view"]');
    expect(root?.textContent).toContain('answer question');
    expect(root?.textContent).toContain('trace-1');
    expect(rowIds(view)).toEqual(['root', 'llm', 'tool']);
    const depths = [...view.querySelectorAll<HTMLElement>('[data-testid="span-row"]')].map(
      (row) => row.dataset.depth,
    );
    expect(depths).toEqual(['0', '1', '2']);
  });

  it('positions bars relative to the trace duration and marks errors', async () => {
    getTraceMock.mockResolvedValue({ trace_id: 'trace-1', spans });

    const view = await render();

    const llmRow = view.querySelector<HTMLElement>('[data-span-id="llm"]')!;
    const bar = llmRow.querySelector<HTMLElement>('.bar')!;
    expect(bar.style.left).toBe('25%');
    expect(bar.style.width).toBe('50%');
    expect(llmRow.classList.contains('failed')).toBe(true);
  });

  it('shows the first span in the detail panel and switches on click', async () => {
    getTraceMock.mockResolvedValue({ trace_id: 'trace-1', spans });
    const view = await render();

    expect(view.querySelector('[data-testid="span-detail"]')?.textContent).toContain('answer question');

    view.querySelector<HTMLElement>('[data-span-id="llm"]')?.click();
    flushSync();

    const detail = view.querySelector('[data-testid="span-detail"]')!;
    expect(detail.textContent).toContain('rate limited');
    expect(detail.textContent).toContain('openai');
    expect(detail.textContent).toContain('gpt-4o-2024-08-06');
    expect(detail.textContent).toContain('gen_ai.request.temperature');
    const payloads = [...detail.querySelectorAll('pre')].map((pre) => pre.textContent);
    expect(payloads[0]).toContain('"role": "user"');
    expect(payloads[1]).toBe('plain answer');
  });

  it('collapses and expands a subtree', async () => {
    getTraceMock.mockResolvedValue({ trace_id: 'trace-1', spans });
    const view = await render();

    view.querySelector<HTMLButtonElement>('[data-span-id="llm"] .twisty')?.click();
    flushSync();
    expect(rowIds(view)).toEqual(['root', 'llm']);

    view.querySelector<HTMLButtonElement>('[data-span-id="llm"] .twisty')?.click();
    flushSync();
    expect(rowIds(view)).toEqual(['root', 'llm', 'tool']);
  });

  it('shows a not_found error in the banner', async () => {
    getTraceMock.mockRejectedValue(new ApiError('not_found', 'no trace with id nope'));

    const view = await render('nope');

    const banner = view.querySelector('[data-testid="error-banner"]');
    expect(banner?.textContent).toContain('not_found');
    expect(banner?.textContent).toContain('no trace with id nope');
    expect(view.querySelector('[data-testid="span-row"]')).toBeNull();
  });

  it('leads back to the trace list as it was left, filters included', async () => {
    traceListState.href = '#/traces?tenant=acme&status=error';
    getTraceMock.mockResolvedValue({ trace_id: 'trace-1', spans });

    const view = await render();

    expect(view.querySelector('.back')?.getAttribute('href')).toBe('#/traces?tenant=acme&status=error');
    traceListState.href = '#/traces';
  });

  it('selects the primary span from a duplicate notice, expanding its ancestors', async () => {
    getTraceMock.mockResolvedValue({
      trace_id: 'trace-1',
      spans: [
        span('root', 0),
        span('primary', 1, { parent_span_id: 'root', name: 'openai.chat', kind: 'llm' }),
        span('copy', 0, { name: 'litellm call', kind: 'llm', duplicate_of: 'primary' }),
      ],
    });
    const view = await render();

    view.querySelector<HTMLButtonElement>('[data-span-id="root"] .twisty')?.click();
    flushSync();
    expect(rowIds(view)).toEqual(['root', 'copy']);
    expect(view.querySelector('[data-span-id="copy"]')?.textContent).toContain('dup');

    view.querySelector<HTMLElement>('[data-span-id="copy"]')?.click();
    flushSync();
    const notice = view.querySelector('[data-testid="duplicate-notice"]')!;
    expect(notice.textContent).toContain('same model call');
    notice.querySelector<HTMLButtonElement>('button')?.click();
    flushSync();
    await settle();

    expect(rowIds(view)).toEqual(['root', 'primary', 'copy']);
    expect(view.querySelector('[data-span-id="primary"]')?.getAttribute('aria-selected')).toBe('true');
    expect(view.querySelector('[data-testid="span-detail"] h2')?.textContent).toBe('openai.chat');
  });
});
