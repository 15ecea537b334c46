import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  costBreakdown: vi.fn(),
  costChart: vi.fn(),
}));

import { costBreakdown, costChart } from '../lib/api';
import type { CostChart, CostQuery, CostReport, CostRow, CostTotals } from '../lib/types';
import Cost from './Cost.svelte';

const breakdownMock = vi.mocked(costBreakdown);
const chartMock = vi.mocked(costChart);

const SINCE = '2026-09-04T00:00:00Z';
const UNTIL = '2026-10-04T00:00:00Z';

function totals(overrides: Partial<CostTotals> = {}): CostTotals {
  return {
    requests: 2000,
    errors: 3,
    cost: 123.45,
    reported_cost: 0,
    unpriced: 0,
    input_tokens: 400_000,
    output_tokens: 100_000,
    cache_read_tokens: 200_000,
    cache_write_tokens: 0,
    reasoning_tokens: 20_000,
    cost_per_1k_requests: 61.725,
    ...overrides,
  };
}

function row(key: string, cost: number, share: number, change: number | null = null): CostRow {
  return { keys: [key], period: null, totals: totals({ cost, requests: Math.round(cost * 10) }), share, change_pct: change };
}

function report(overrides: Partial<CostReport> = {}): CostReport {
  return {
    since: SINCE,
    until: UNTIL,
    by: [],
    per: null,
    total: totals(),
    previous: totals({ cost: 109.73 }),
    change_pct: 12.5,
    rows: [],
    unpriced_models: [],
    disagreements: [],
    ...overrides,
  };
}

const ROWS: Record<string, CostRow[]> = {
  tenant: [row('acme', 80, 0.65, 20), row('globex', 43.45, 0.35, -10)],
  endpoint: [row('/v1/chat', 123.45, 1)],
  model: [row('gpt-4o', 100, 0.81), row('claude-sonnet', 23.45, 0.19)],
  prompt: [row('support/reply', 120, 0.97), row('(none)', 3.45, 0.03)],
  feature: [row('search', 123.45, 1)],
  environment: [row('production', 123.45, 1)],
};

/** Answers like the backend: the total for `by: []`, the dimension's groups otherwise. */
function serveBreakdown(total: CostReport = report()) {
  breakdownMock.mockImplementation(async (query: CostQuery) => {
    const dimension = query.by?.[0];
    if (dimension === undefined) return total;
    return report({ by: [dimension], rows: ROWS[dimension] ?? [] });
  });
}

const CHART_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 940 360" width="100%"><rect x="0" y="0" width="940" height="360" fill="#fff"></rect>' +
  '<g class="chart-tooltips" fill="#000" fill-opacity="0" pointer-events="all">' +
  '<rect x="10" y="10" width="20" height="100" data-testid="seg-acme"><title>acme · 2026-10-03 · $12.34\ntotal $20.00</title></rect>' +
  '</g>' +
  '<g data-testid="group-globex"><title>globex · 2026-10-02 · $7.66</title><rect x="40" y="50" width="20" height="60" data-testid="seg-globex"></rect></g>' +
  '<text x="5" y="350" data-testid="axis">2026-10-03</text></svg>';

function chart(overrides: Partial<CostChart> = {}): CostChart {
  return { svg: CHART_SVG, periods: ['2026-10-02', '2026-10-03'], series: ['acme', 'globex'], ...overrides };
}

/** Makes `prefers-color-scheme: dark` match or not. */
function stubColorScheme(dark: boolean): void {
  vi.stubGlobal(
    'matchMedia',
    vi.fn(() => ({ matches: dark, addEventListener: vi.fn(), removeEventListener: vi.fn() })),
  );
}

/** Lets pending promise callbacks and the effects they trigger run (the report, then the rest). */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 8; i++) await Promise.resolve();
    flushSync();
  }
}

let component: ReturnType<typeof mount> | null = null;

async function render(hash = '#/cost'): Promise<HTMLElement> {
  window.history.replaceState(null, '', `/${hash}`);
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(Cost, { target });
  await settle();
  return target;
}

function byTestId<T extends Element = HTMLElement>(view: Element, id: string): T {
  const element = view.querySelector<T & Element>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`no [data-testid="${id}"]`);
  return element as T;
}

/** The `cost_breakdown` calls for the total (no `by`), oldest first. */
function totalQueries(): CostQuery[] {
  return breakdownMock.mock.calls.map(([query]) => query).filter((query) => (query.by ?? []).length === 0);
}

const widthDescriptor = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'clientWidth');

beforeEach(() => {
  breakdownMock.mockReset();
  chartMock.mockReset();
  chartMock.mockResolvedValue(chart());
  stubColorScheme(false);
  // jsdom does no layout: give the screen a width to measure.
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', {
    configurable: true,
    get(this: HTMLElement) {
      return this.dataset.testid === 'cost-view' ? 1000 : 0;
    },
  });
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.useRealTimers();
  vi.unstubAllGlobals();
  if (widthDescriptor) Object.defineProperty(HTMLElement.prototype, 'clientWidth', widthDescriptor);
});

describe('Cost', () => {
  it('heads the page with the total, its change, requests, cost per 1,000 and the reported cost', async () => {
    serveBreakdown(report({ total: totals({ reported_cost: 118.2 }) }));
    const view = await render();

    expect(totalQueries()[0]).toEqual({});
    expect(byTestId(view, 'cost-range-label').textContent).toBe('2026-09-04 – 2026-10-03');
    expect(byTestId(view, 'cost-total').textContent).toBe('$123.45');
    const change = byTestId(view, 'cost-change');
    expect(change.textContent).toContain('+13% vs the range before');
    expect(change.dataset.direction).toBe('up');
    expect(change.textContent).toContain('▲');
    expect(byTestId(view, 'cost-requests').textContent).toBe('2,000');
    expect(byTestId(view, 'cost-errors').textContent?.replace(/\s+/g, ' ').trim()).toBe('3 errors');
    expect(byTestId(view, 'cost-per-1k').textContent).toBe('$61.73');
    expect(byTestId(view, 'cost-reported').textContent).toBe('$118.20');
  });

  it('shows a fall with a minus sign and leaves out a reported cost of zero', async () => {
    serveBreakdown(report({ change_pct: -8.04 }));
    const view = await render();

    const change = byTestId(view, 'cost-change');
    expect(change.textContent).toContain('−8% vs the range before');
    expect(change.textContent).toContain('▼');
    expect(change.dataset.direction).toBe('down');
    expect(view.querySelector('[data-testid="cost-reported"]')).toBeNull();
  });

  it('asks for the chart over the resolved range with the stack, period, filters, theme and width', async () => {
    stubColorScheme(true);
    serveBreakdown();
    const view = await render('#/cost?model=gpt-4o&stack=endpoint&per=month');

    expect(totalQueries()[0]).toEqual({ filters: { model: 'gpt-4o' } });
    expect(chartMock).toHaveBeenCalledTimes(1);
    expect(chartMock).toHaveBeenCalledWith({
      by: 'endpoint',
      per: 'month',
      since: SINCE,
      until: UNTIL,
      theme: 'dark',
      width: 940,
      filters: { model: 'gpt-4o' },
    });
    const svg = byTestId(view, 'cost-chart').querySelector('svg');
    expect(svg?.getAttribute('viewBox')).toBe('0 0 940 360');
    expect(byTestId<HTMLSelectElement>(view, 'cost-stack-by').value).toBe('endpoint');
    expect(byTestId<HTMLSelectElement>(view, 'cost-per').value).toBe('month');
    expect(byTestId(view, 'cost-period-2026-10-03').getAttribute('href')).toBe(
      '#/traces?range=custom&since=2026-10-03&until=2026-10-03&model=gpt-4o',
    );

    const stack = byTestId<HTMLSelectElement>(view, 'cost-stack-by');
    stack.value = 'model';
    stack.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    expect(chartMock).toHaveBeenLastCalledWith(expect.objectContaining({ by: 'model', per: 'month' }));
    expect(window.location.hash).toBe('#/cost?model=gpt-4o&stack=model&per=month');
    // Restacking redraws the chart only.
    expect(totalQueries()).toHaveLength(1);
  });

  it('fills the top tables and applies a clicked row as a filter, refetching', async () => {
    serveBreakdown();
    const view = await render();

    const topQueries = breakdownMock.mock.calls.map(([query]) => query).filter((query) => query.top !== undefined);
    expect(topQueries.map((query) => query.by)).toEqual([['endpoint'], ['tenant'], ['model'], ['prompt']]);
    expect(topQueries[0]).toEqual({ by: ['endpoint'], top: 8, since: SINCE, until: UNTIL });

    const first = byTestId(view, 'cost-top-tenant-row-0');
    expect(first.textContent).toContain('acme');
    expect(first.textContent).toContain('$80');
    expect(first.textContent).toContain('65%');
    expect(first.textContent).toContain('+20%');
    expect(byTestId(view, 'cost-top-tenant-row-1').textContent).toContain('−10%');

    first.click();
    await settle();

    expect(window.location.hash).toBe('#/cost?tenant=acme');
    expect(totalQueries().at(-1)).toEqual({ filters: { tenant: 'acme' } });
    expect(breakdownMock).toHaveBeenCalledWith({ by: ['model'], top: 8, since: SINCE, until: UNTIL, filters: { tenant: 'acme' } });
    expect(chartMock).toHaveBeenLastCalledWith(expect.objectContaining({ filters: { tenant: 'acme' } }));
    expect(byTestId<HTMLSelectElement>(view, 'cost-filter-tenant').value).toBe('acme');

    // A prompt has no dropdown: it shows as a removable filter, and spans without one are sent as "".
    byTestId(view, 'cost-top-prompt-row-1').click();
    await settle();
    expect(window.location.hash).toBe('#/cost?tenant=acme&prompt=%28none%29');
    expect(totalQueries().at(-1)).toEqual({ filters: { tenant: 'acme', prompt: '' } });
    byTestId(view, 'cost-filter-prompt').click();
    await settle();
    expect(window.location.hash).toBe('#/cost?tenant=acme');
  });

  it('offers the range\'s values in the dimension dropdowns', async () => {
    serveBreakdown();
    const view = await render();

    expect(breakdownMock).toHaveBeenCalledWith({ by: ['feature'], since: SINCE, until: UNTIL });
    const model = byTestId<HTMLSelectElement>(view, 'cost-filter-model');
    expect([...model.options].map((option) => option.value)).toEqual(['', 'gpt-4o', 'claude-sonnet']);
    model.value = 'claude-sonnet';
    model.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    expect(window.location.hash).toBe('#/cost?model=claude-sonnet');
    expect(totalQueries().at(-1)).toEqual({ filters: { model: 'claude-sonnet' } });
  });

  it('lists token usage, unpriced models and cost disagreements', async () => {
    serveBreakdown(
      report({
        unpriced_models: [
          { model: 'my-finetune', requests: 42 },
          { model: 'local-llama', requests: 1 },
        ],
        disagreements: [{ model: 'gpt-4o', computed: 10, reported: 12 }],
      }),
    );
    const view = await render();

    const unpriced = byTestId(view, 'cost-unpriced');
    expect(unpriced.textContent).toContain('not costed');
    expect(unpriced.textContent).toContain('prices.toml');
    expect(unpriced.textContent).toContain('assay prices import');
    const items = [...unpriced.querySelectorAll('li')].map((item) => item.textContent);
    expect(items).toEqual(['my-finetune: 42 calls', 'local-llama: 1 call']);

    const disagreements = byTestId(view, 'cost-disagreements');
    expect(disagreements.textContent).toContain('gpt-4o');
    expect(disagreements.textContent).toContain('$10');
    expect(disagreements.textContent).toContain('$12');
    expect(disagreements.textContent).toContain('+20%');

    const tokens = byTestId(view, 'cost-tokens');
    const rows = [...tokens.querySelectorAll('tr')];
    expect(rows.map((tr) => tr.querySelector('td')?.textContent)).toEqual(['400k', '200k', '0', '100k', '20k']);
    const widths = rows.map((tr) => (tr.querySelector('.bar span') as HTMLElement).style.width);
    expect(widths).toEqual(['100%', '50%', '0%', '25%', '5%']);
  });

  it('explains where cost comes from when the workspace has none', async () => {
    serveBreakdown(report({ total: totals({ requests: 0, cost: 0, errors: 0, cost_per_1k_requests: null }), change_pct: null }));
    const view = await render();

    const empty = byTestId(view, 'cost-empty');
    expect(empty.textContent).toContain('token usage');
    expect(empty.textContent).toContain('assay import FILE');
    expect(empty.textContent).toContain('assay prices list');
    expect(view.querySelector('[data-testid="cost-chart"]')).toBeNull();
    expect(view.querySelector('[data-testid="cost-total"]')).toBeNull();
    expect(chartMock).not.toHaveBeenCalled();
  });

  it('opens the traces of a clicked bar segment, filtered by its group and day', async () => {
    serveBreakdown();
    const view = await render('#/cost?environment=production');

    // The backend's hover layer: a transparent rect with its own <title>.
    byTestId(view, 'seg-acme').dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(window.location.hash).toBe(
      '#/traces?range=custom&since=2026-10-03&until=2026-10-03&tenant=acme&environment=production',
    );

    // A shape inside a <g> that carries the <title>.
    window.history.replaceState(null, '', '/#/cost?environment=production');
    byTestId(view, 'seg-globex').dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(window.location.hash).toBe(
      '#/traces?range=custom&since=2026-10-02&until=2026-10-02&tenant=globex&environment=production',
    );

    // Text without a tooltip leads nowhere.
    window.history.replaceState(null, '', '/#/cost?environment=production');
    byTestId(view, 'axis').dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(window.location.hash).toBe('#/cost?environment=production');
  });

  it('switches between the backend\'s range and the presets ending today', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(2026, 9, 15, 12, 0));
    serveBreakdown();
    const view = await render();
    expect(byTestId(view, 'cost-range-auto').getAttribute('aria-pressed')).toBe('true');

    byTestId(view, 'cost-range-7').click();
    await settle();
    expect(window.location.hash).toBe('#/cost?range=7d');
    expect(byTestId(view, 'cost-range-7').getAttribute('aria-pressed')).toBe('true');
    expect(totalQueries().at(-1)).toEqual({ since: '2026-10-09', until: '2026-10-16' });
    expect(chartMock).toHaveBeenLastCalledWith(expect.objectContaining({ since: '2026-10-09', until: '2026-10-16' }));

    byTestId(view, 'cost-range-90').click();
    await settle();
    expect(window.location.hash).toBe('#/cost?range=90d');
    expect(totalQueries().at(-1)).toEqual({ since: '2026-07-18', until: '2026-10-16' });

    const until = byTestId<HTMLInputElement>(view, 'cost-until');
    until.value = '2026-09-30';
    until.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    // The other end is kept from the range shown.
    expect(window.location.hash).toBe('#/cost?since=2026-09-04&until=2026-09-30');
    expect(totalQueries().at(-1)).toEqual({ since: '2026-09-04', until: '2026-10-01' });

    byTestId(view, 'cost-range-auto').click();
    await settle();
    expect(window.location.hash).toBe('#/cost');
    expect(totalQueries().at(-1)).toEqual({});
  });
});
