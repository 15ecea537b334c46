import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('./lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./lib/api')>()),
  workspaceInfo: vi.fn(),
  listTraces: vi.fn(),
}));

import { listTraces, workspaceInfo } from './lib/api';
import App from './App.svelte';

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  flushSync();
}

let component: ReturnType<typeof mount> | null = null;

async function render(): Promise<HTMLElement> {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(App, { target });
  await settle();
  return target;
}

async function navigate(hash: string): Promise<void> {
  window.location.hash = hash;
  window.dispatchEvent(new HashChangeEvent('hashchange'));
  await settle();
}

beforeEach(() => {
  window.history.replaceState(null, '', '/');
  vi.mocked(workspaceInfo).mockResolvedValue({
    root: '/home/dev/assay-demo',
    db_path: '/home/dev/assay-demo/.assay/assay.db',
    version: '0.1.0',
    trace_count: 0,
    span_count: 0,
  });
  vi.mocked(listTraces).mockResolvedValue({ traces: [], total: 0 });
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('App shell', () => {
  it('shows the product, the workspace root and every section link', async () => {
    const view = await render();

    expect(view.textContent).toContain('Assay');
    expect(view.querySelector('[data-testid="workspace-root"]')?.textContent).toBe(
      '/home/dev/assay-demo',
    );
    for (const name of ['traces', 'evals', 'prompts', 'cost', 'alerts', 'settings']) {
      const link = view.querySelector<HTMLAnchorElement>(`[data-testid="nav-${name}"]`);
      expect(link?.getAttribute('href')).toBe(`#/${name}`);
    }
  });

  it('opens the trace list by default', async () => {
    const view = await render();

    expect(view.querySelector('[data-testid="empty-state"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="nav-traces"]')?.getAttribute('aria-current')).toBe('page');
  });

  it('shows an honest placeholder for sections that do not exist yet', async () => {
    const view = await render();

    await navigate('#/cost');

    const panel = view.querySelector('[data-testid="not-yet"]');
    expect(panel?.textContent).toContain('Not available yet');
    expect(panel?.textContent).toContain('tenant');
    expect(view.querySelector('[data-testid="trace-row"]')).toBeNull();
    expect(view.querySelector('[data-testid="nav-cost"]')?.getAttribute('aria-current')).toBe('page');
  });
});
