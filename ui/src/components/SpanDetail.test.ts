import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import type { SpanView } from '../lib/types';
import { span } from '../test-fixtures';
import SpanDetail from './SpanDetail.svelte';

let component: ReturnType<typeof mount> | null = null;

function render(props: {
  span: SpanView;
  resolveSpan?: (id: string) => SpanView | undefined;
  onselect?: (id: string) => void;
}): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(SpanDetail, { target, props });
  flushSync();
  return target;
}

function all(view: HTMLElement, testid: string): HTMLElement[] {
  return [...view.querySelectorAll<HTMLElement>(`[data-testid="${testid}"]`)];
}

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.useRealTimers();
});

const agentCall = span('llm', 1, {
  name: 'chat gpt-4o',
  kind: 'llm',
  provider: 'openai',
  model: 'gpt-4o',
  response_model: 'gpt-4o-2024-08-06',
  finish_reason: 'tool_calls',
  ttft_ms: 312,
  usage: { input: 1200, output: 85, cache_read: 1024, cache_write: null, reasoning: 40 },
  input_tokens: 1200,
  output_tokens: 85,
  reported_cost: 0.00425,
  input: '{"messages":[]}',
  output: '{"choices":[]}',
  input_messages: [
    { role: 'system', content: 'You are a support agent.' },
    { role: 'user', content: 'Where is my refund?' },
    {
      role: 'assistant',
      tool_calls: [{ id: 'call_1', name: 'lookup_order', arguments: '{"order_id":"A-17","verbose":true}' }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: '{"status":"refunded"}' },
  ],
  output_messages: [{ role: 'assistant', content: 'Your refund was issued on Monday.' }],
  documents: [
    { id: 'kb-12', score: 0.8731, content: 'Refunds take 5 business days.' },
    { content: 'x'.repeat(2000) },
  ],
  attribution: {
    tenant: 'acme',
    endpoint: '/v1/support',
    feature: 'refunds',
    user: null,
    session: 'sess-9',
    environment: 'production',
    release: null,
  },
  tags: ['beta', 'vip'],
  metadata: { ab_bucket: 'B' },
  events: [{ name: 'first_token', offset_ms: 312, attributes: {} }],
  prompt_name: 'support-answer',
  prompt_version: '7',
  prompt_template: { template: 'Answer {{question}} politely.', variables: { question: 'Where is my refund?' } },
  attributes: { 'gen_ai.system': 'openai' },
});

describe('SpanDetail', () => {
  it('renders the transcript with roles in order', () => {
    const view = render({ span: agentCall });

    const [input, output] = all(view, 'span-messages');
    expect(input?.dataset.list).toBe('input');
    expect(output?.dataset.list).toBe('output');
    const roles = all(input!, 'span-message').map((message) => message.dataset.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(all(input!, 'span-message')[1]?.textContent).toContain('Where is my refund?');
    expect(all(input!, 'span-message')[1]?.classList.contains('role-user')).toBe(true);
    const outputMessages = all(output!, 'span-message');
    expect(outputMessages.map((message) => message.dataset.role)).toEqual(['assistant']);
    expect(outputMessages[0]?.textContent).toContain('Your refund was issued on Monday.');
  });

  it('shows tool calls with their name and pretty-printed arguments, linked to their results', () => {
    vi.useFakeTimers();
    const view = render({ span: agentCall });

    const [call] = all(view, 'tool-call');
    expect(call?.dataset.toolCallId).toBe('call_1');
    expect(call?.querySelector('.call-name')?.textContent).toBe('lookup_order');
    expect(call?.querySelector('pre')?.textContent).toBe('{\n  "order_id": "A-17",\n  "verbose": true\n}');

    const result = all(view, 'span-message').find((message) => message.dataset.role === 'tool')!;
    expect(result.textContent).toContain('result of');
    expect(result.textContent).toContain('call_1');
    const resultText = result.querySelector('.long-text')!;
    expect(resultText.textContent).toBe('{\n  "status": "refunded"\n}');
    expect(resultText.classList.contains('mono')).toBe(true);
    const toCall = result.querySelector<HTMLButtonElement>('.answers button')!;
    expect(toCall.textContent).toBe('lookup_order');

    toCall.click();
    flushSync();
    expect(call?.classList.contains('flash')).toBe(true);

    call?.querySelector<HTMLButtonElement>('.result-link')?.click();
    flushSync();
    expect(result.classList.contains('flash')).toBe(true);
    expect(call?.classList.contains('flash')).toBe(false);
    vi.advanceTimersByTime(1500);
    flushSync();
    expect(result.classList.contains('flash')).toBe(false);
  });

  it('shows token usage by key, the parts under their whole, and the reported cost', () => {
    const view = render({ span: agentCall });

    const usage = view.querySelector<HTMLElement>('[data-testid="span-usage"]')!;
    const rows = [...usage.querySelectorAll<HTMLElement>('tr')].map((row) => [
      row.dataset.key,
      row.querySelector('td')?.textContent,
      row.classList.contains('part'),
    ]);
    expect(rows).toEqual([
      ['input', '1,200', false],
      ['cache_read', '1,024', true],
      ['output', '85', false],
      ['reasoning', '40', true],
      ['reported_cost', '$0.00425', false],
    ]);
    expect(usage.textContent).not.toContain('cache write');
  });

  it('shows the computed cost beside the reported one, and says when a model has no price', () => {
    const priced = render({ span: { ...agentCall, cost: 0.0041 } });
    const costRow = priced.querySelector<HTMLElement>('[data-testid="span-usage"] tr[data-key="cost"]')!;
    expect(costRow.querySelector('td')?.textContent).toBe('$0.0041');
    expect(priced.querySelector('tr[data-key="reported_cost"]')).not.toBeNull();
    if (component) unmount(component);
    document.body.innerHTML = '';
    const unpriced = render({ span: { ...agentCall, cost: null, unpriced: true } });
    const row = unpriced.querySelector<HTMLElement>('tr[data-key="cost"]')!;
    expect(row.querySelector('td')?.textContent).toBe('not priced');
  });

  it('shows documents with id, score and content, folding long ones', () => {
    const view = render({ span: agentCall });

    const documents = view.querySelector<HTMLElement>('[data-testid="span-documents"]')!;
    const items = all(documents, 'span-document');
    expect(items).toHaveLength(2);
    expect(items[0]?.textContent).toContain('kb-12');
    expect(items[0]?.textContent).toContain('score 0.8731');
    expect(items[0]?.textContent).toContain('Refunds take 5 business days.');
    expect(items[0]?.querySelector('button')).toBeNull();

    expect(items[1]?.textContent).toContain('#2');
    const toggle = items[1]!.querySelector<HTMLButtonElement>('button')!;
    expect(items[1]?.querySelector('.long-text')?.classList.contains('clipped')).toBe(true);
    expect(toggle.textContent).toContain('2,000 characters');
    toggle.click();
    flushSync();
    expect(items[1]?.querySelector('.long-text')?.classList.contains('clipped')).toBe(false);
  });

  it('shows the model, timing, prompt, attribution, tags, metadata and events', () => {
    const view = render({ span: agentCall });
    const text = view.textContent ?? '';

    expect(text).toContain('openai');
    expect(text).toContain('gpt-4o-2024-08-06');
    expect(view.querySelector('[data-testid="finish-reason"]')?.textContent).toBe('tool_calls');
    expect(view.querySelector('[data-testid="finish-reason"]')?.classList.contains('warn')).toBe(false);
    expect(text).toContain('First token');
    expect(text).toContain('312 ms');

    const prompt = view.querySelector<HTMLElement>('[data-testid="span-prompt"]')!;
    expect(prompt.textContent).toContain('support-answer@7');
    expect(prompt.querySelector('pre')?.textContent).toBe('Answer {{question}} politely.');
    expect(prompt.querySelector('[data-testid="prompt-variables"]')?.textContent).toContain('question');

    const attribution = view.querySelector<HTMLElement>('[data-testid="span-attribution"]')!;
    const pairs = [...attribution.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent]);
    expect(pairs).toEqual([
      ['tenant', 'acme'],
      ['endpoint', '/v1/support'],
      ['feature', 'refunds'],
      ['session', 'sess-9'],
      ['environment', 'production'],
    ]);
    expect(all(attribution, 'span-tag').map((tag) => tag.textContent)).toEqual(['beta', 'vip']);

    expect(view.querySelector('[data-testid="span-metadata"]')?.textContent).toContain('ab_bucket');
    expect(view.querySelector('[data-testid="span-events"]')?.textContent).toContain('first_token');
    expect(view.querySelector('[data-testid="span-events"]')?.textContent).toContain('+312 ms');
  });

  it('folds the raw payloads and the attributes when messages are shown', () => {
    const view = render({ span: agentCall });

    expect(view.querySelector<HTMLDetailsElement>('[data-testid="payload-input"]')?.open).toBe(false);
    expect(view.querySelector<HTMLDetailsElement>('[data-testid="payload-output"]')?.open).toBe(false);
    expect(view.querySelector<HTMLDetailsElement>('[data-testid="span-attributes"]')?.open).toBe(false);
    expect(view.querySelector('[data-testid="span-attributes"]')?.textContent).toContain('gen_ai.system');
  });

  it('hides every section that has nothing to show', () => {
    const view = render({ span: span('bare', 0, { name: 'bare span' }) });

    for (const testid of [
      'span-model',
      'span-usage',
      'span-prompt',
      'span-messages',
      'span-documents',
      'span-attribution',
      'span-metadata',
      'span-events',
      'payload-input',
      'payload-output',
      'span-attributes',
      'duplicate-notice',
      'error-class',
    ]) {
      expect(view.querySelector(`[data-testid="${testid}"]`), testid).toBeNull();
    }
    expect(view.querySelector('[data-testid="span-detail"]')?.textContent).toContain('bare span');
    expect(view.textContent).toContain('Duration');
  });

  it('opens the raw payloads when there are no messages', () => {
    const view = render({ span: span('raw', 0, { input: 'hello', output: '' }) });

    expect(view.querySelector<HTMLDetailsElement>('[data-testid="payload-input"]')?.open).toBe(true);
    expect(view.querySelector('[data-testid="payload-input"] pre')?.textContent).toBe('hello');
    expect(view.querySelector('[data-testid="payload-output"]')?.textContent).toContain('Empty.');
  });

  it('marks failures with their class and worrying finish reasons', () => {
    const view = render({
      span: span('failed', 0, {
        status: 'error',
        status_message: 'maximum context length exceeded',
        error_class: 'model',
        model: 'gpt-4o',
        finish_reason: 'length',
      }),
    });

    expect(view.querySelector('[data-testid="error-class"]')?.textContent).toBe('model error');
    expect(view.textContent).toContain('maximum context length exceeded');
    const finish = view.querySelector('[data-testid="finish-reason"]')!;
    expect(finish.classList.contains('warn')).toBe(true);
    expect(view.textContent).toContain('cut off at the token limit');
  });

  it('links a duplicate record to its primary span', () => {
    const primary = span('p1', 0, { name: 'openai.chat' });
    const onselect = vi.fn();
    const view = render({
      span: span('d1', 0, { duplicate_of: 'p1', usage: { ...primary.usage, input: 10 } }),
      resolveSpan: (id) => (id === 'p1' ? primary : undefined),
      onselect,
    });

    const notice = view.querySelector<HTMLElement>('[data-testid="duplicate-notice"]')!;
    expect(notice.textContent).toContain('not counted again');
    notice.querySelector<HTMLButtonElement>('button')?.click();
    expect(onselect).toHaveBeenCalledWith('p1');
    expect(view.querySelector('[data-testid="span-usage"]')?.textContent).toContain('Not counted');
  });

  it('names an unknown primary span by id', () => {
    const view = render({ span: span('d1', 0, { duplicate_of: 'elsewhere' }) });

    const notice = view.querySelector<HTMLElement>('[data-testid="duplicate-notice"]')!;
    expect(notice.textContent).toContain('elsewhere');
    expect(notice.querySelector('button')).toBeNull();
  });
});
