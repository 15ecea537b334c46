import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  evalTrend: vi.fn(),
}));

import { evalTrend } from '../lib/api';
import type { EvalTrend as Trend } from '../lib/types';
import { commit } from '../test-fixtures';
import EvalTrend from './EvalTrend.svelte';

const trendMock = vi.mocked(evalTrend);

const SVG =
  '<svg width="800" height="300" viewBox="0 0 800 300" xmlns="http://www.w3.org/2000/svg"><polyline points="0,10 400,20" /><text x="5" y="15">pass rate</text></svg>';

function trend(overrides: Partial<Trend> = {}): Trend {
  return {
    evalset: 'support',
    points: [
      { commit: commit('a', { summary: 'Add refund cases' }), run_id: 'run-a', pass_rate: 0.75, mean_score: 0.8 },
      { commit: commit('b', { summary: 'Shorter answers' }), run_id: null, pass_rate: null, mean_score: null },
    ],
    svg: SVG,
    ...overrides,
  };
}

/** Makes `prefers-color-scheme: dark` match or not, with a way to flip it later. */
function stubColorScheme(dark: boolean) {
  const listeners: (() => void)[] = [];
  const media = {
    matches: dark,
    addEventListener: (_: string, listener: () => void) => listeners.push(listener),
    removeEventListener: vi.fn(),
  };
  vi.stubGlobal('matchMedia', vi.fn(() => media));
  return {
    flip(next: boolean) {
      media.matches = next;
      for (const listener of listeners) listener();
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(hash: string): Promise<HTMLElement> {
  window.history.replaceState(null, '', `/${hash}`);
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(EvalTrend, { target });
  await settle();
  return target;
}

function byTestId<T extends HTMLElement = HTMLElement>(view: HTMLElement, id: string): T {
  const element = view.querySelector<T>(`[data-testid="${id}"]`);
  if (element === null) throw new Error(`no [data-testid="${id}"]`);
  return element;
}

beforeEach(() => {
  trendMock.mockReset();
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('EvalTrend', () => {
  it('inserts the backend chart in the current theme and lists its points with links to runs', async () => {
    stubColorScheme(true);
    trendMock.mockResolvedValue(trend());
    const view = await render('#/evals/trend?evalset=support');

    expect(trendMock).toHaveBeenCalledWith({ evalset: 'support', theme: 'dark' });
    const chart = byTestId(view, 'trend-chart');
    const svg = chart.querySelector('svg');
    expect(svg).not.toBeNull();
    expect(svg?.getAttribute('viewBox')).toBe('0 0 800 300');
    expect(chart.querySelector('polyline')).not.toBeNull();

    const first = byTestId(view, 'trend-row-0');
    expect(first.textContent).toContain('aaaaaaa');
    expect(first.textContent).toContain('Add refund cases');
    expect(first.textContent).toContain('75%');
    expect(first.textContent).toContain('0.80');
    expect(byTestId<HTMLAnchorElement>(first, 'trend-run-0').getAttribute('href')).toBe('#/evals/run/run-a');
    const second = byTestId(view, 'trend-row-1');
    expect(second.textContent).toContain('not run');
    expect(second.querySelector('a')).toBeNull();
  });

  it('asks for a light chart in light mode and redraws when the theme changes', async () => {
    const scheme = stubColorScheme(false);
    trendMock.mockResolvedValue(trend());
    await render('#/evals/trend?evalset=support');
    expect(trendMock).toHaveBeenLastCalledWith({ evalset: 'support', theme: 'light' });

    scheme.flip(true);
    await settle();
    expect(trendMock).toHaveBeenLastCalledWith({ evalset: 'support', theme: 'dark' });
  });

  it('explains an empty trend and asks for nothing without an eval set', async () => {
    stubColorScheme(false);
    trendMock.mockResolvedValue(trend({ points: [], svg: '<svg></svg>' }));
    let view = await render('#/evals/trend?evalset=support');
    expect(byTestId(view, 'trend-empty').textContent).toContain('assay eval run support');
    expect(view.querySelector('[data-testid="trend-chart"]')).toBeNull();
    unmount(component!);
    component = null;
    view.remove();

    trendMock.mockClear();
    view = await render('#/evals/trend');
    expect(trendMock).not.toHaveBeenCalled();
    expect(view.textContent).toContain('No eval set named');
  });
});
