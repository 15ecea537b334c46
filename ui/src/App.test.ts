import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('./lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./lib/api')>()),
  workspaceInfo: vi.fn(),
  listTraces: vi.fn(),
  traceFacets: vi.fn(),
  importFile: vi.fn(),
  importProgress: vi.fn(async () => null),
  evalSets: vi.fn(),
  evalRuns: vi.fn(),
  evalRunGet: vi.fn(),
  keysStatus: vi.fn(),
  workspaceFiles: vi.fn(),
  fileGet: vi.fn(),
  promptRender: vi.fn(),
  costBreakdown: vi.fn(),
  costChart: vi.fn(),
}));

import {
  costBreakdown,
  costChart,
  evalRunGet,
  evalRuns,
  evalSets,
  fileGet,
  importFile,
  keysStatus,
  listTraces,
  promptRender,
  traceFacets,
  workspaceFiles,
  workspaceInfo,
} from './lib/api';
import { resetImports } from './lib/imports.svelte';
import { evalSet, importReport, runBrief, runDetail, traceList, workspace } from './test-fixtures';
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
  resetImports();
  vi.mocked(workspaceInfo).mockResolvedValue(workspace());
  vi.mocked(listTraces).mockResolvedValue(traceList([]));
  vi.mocked(traceFacets).mockResolvedValue({ tenants: [], endpoints: [], models: [], environments: [] });
});

/** jsdom has no DragEvent: a plain event carrying a DataTransfer-like object. */
function dragEvent(type: string, files: File[]): Event {
  const event = new Event(type, { bubbles: true, cancelable: true });
  Object.defineProperty(event, 'dataTransfer', {
    value: { types: ['Files'], files, dropEffect: 'none' },
  });
  return event;
}

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

    await navigate('#/alerts');

    const panel = view.querySelector('[data-testid="not-yet"]');
    expect(panel?.textContent).toContain('Not available yet');
    expect(panel?.textContent).toContain('latency');
    expect(view.querySelector('[data-testid="trace-row"]')).toBeNull();
    expect(view.querySelector('[data-testid="nav-alerts"]')?.getAttribute('aria-current')).toBe('page');
  });

  it('opens the cost section in place of its placeholder', async () => {
    vi.mocked(costBreakdown).mockRejectedValue({ code: 'internal', message: 'no cost here' });
    vi.mocked(costChart).mockRejectedValue({ code: 'internal', message: 'no chart here' });
    const view = await render();

    await navigate('#/cost');

    expect(view.querySelector('[data-testid="cost-view"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="not-yet"]')).toBeNull();
    expect(view.querySelector('[data-testid="error-banner"]')?.textContent).toContain('no cost here');
    expect(view.querySelector('[data-testid="nav-cost"]')?.getAttribute('aria-current')).toBe('page');
  });

  it('opens the evals, a run and settings screens, highlighting their section', async () => {
    vi.mocked(evalSets).mockResolvedValue([evalSet('support')]);
    vi.mocked(evalRuns).mockResolvedValue([runBrief('run-7')]);
    vi.mocked(evalRunGet).mockResolvedValue(runDetail({}, { id: 'run-7' }));
    vi.mocked(keysStatus).mockResolvedValue([{ provider: 'openai', source: null }]);
    const view = await render();

    await navigate('#/evals');
    expect(view.querySelector('[data-testid="evalset-support"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="not-yet"]')).toBeNull();

    (view.querySelector('[data-testid="run-row-run-7"]') as HTMLElement).click();
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await settle();
    expect(vi.mocked(evalRunGet)).toHaveBeenCalledWith('run-7');
    expect(view.querySelector('[data-testid="eval-run"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="nav-evals"]')?.getAttribute('aria-current')).toBe('page');

    await navigate('#/settings');
    expect(view.querySelector('[data-testid="key-openai"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="nav-settings"]')?.getAttribute('aria-current')).toBe('page');
  });

  it('opens a prompt file, and keeps it open when the person declines to drop unsaved changes', async () => {
    vi.mocked(workspaceFiles).mockResolvedValue({
      is_git: true,
      branch: 'main',
      files: [{ path: 'prompts/triage.yaml', kind: 'prompt', modified: false }],
    });
    vi.mocked(fileGet).mockResolvedValue({ path: 'prompts/triage.yaml', rev: null, content: 'text: hi\n' });
    vi.mocked(evalSets).mockResolvedValue([]);
    vi.mocked(promptRender).mockResolvedValue({ case_id: 'c', vars: {}, messages: [] });
    const confirm = vi.fn(() => false);
    vi.stubGlobal('confirm', confirm);
    const view = await render();

    await navigate('#/prompts');
    expect(view.querySelector('[data-testid="prompts-tree"]')).not.toBeNull();
    expect(view.querySelector('[data-testid="not-yet"]')).toBeNull();
    expect(view.querySelector('[data-testid="nav-prompts"]')?.getAttribute('aria-current')).toBe('page');

    const link = view.querySelector('[data-testid="file-prompts_triage_yaml"]') as HTMLAnchorElement;
    await navigate(link.getAttribute('href') ?? '');
    expect(vi.mocked(fileGet)).toHaveBeenCalledWith({ path: 'prompts/triage.yaml' });
    (view.querySelector('[data-testid="file-edit"]') as HTMLElement).click();
    flushSync();
    const editor = view.querySelector('[data-testid="file-editor"]') as HTMLTextAreaElement;
    editor.value = 'text: changed\n';
    editor.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    const fileHash = window.location.hash;

    await navigate('#/traces');
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(window.location.hash).toBe(fileHash);
    expect((view.querySelector('[data-testid="file-editor"]') as HTMLTextAreaElement).value).toBe('text: changed\n');
    expect(view.querySelector('[data-testid="nav-prompts"]')?.getAttribute('aria-current')).toBe('page');

    confirm.mockReturnValue(true);
    await navigate('#/traces');
    expect(view.querySelector('[data-testid="prompts-tree"]')).toBeNull();
    expect(view.querySelector('[data-testid="nav-traces"]')?.getAttribute('aria-current')).toBe('page');
  });

  it('shows a drop overlay while files are dragged over the window, and imports them on drop', async () => {
    vi.mocked(importFile).mockResolvedValue({ imported: [importReport({ source: 'a.jsonl' })], failed: [] });
    const view = await render();
    const file = new File(['{}'], 'a.jsonl');

    expect(view.ownerDocument.querySelector('[data-testid="drop-overlay"]')).toBeNull();
    document.body.dispatchEvent(dragEvent('dragenter', [file]));
    const over = dragEvent('dragover', [file]);
    document.body.dispatchEvent(over);
    flushSync();
    expect(document.querySelector('[data-testid="drop-overlay"]')).not.toBeNull();
    expect(over.defaultPrevented).toBe(true);

    const drop = dragEvent('drop', [file]);
    document.body.dispatchEvent(drop);
    flushSync();
    expect(drop.defaultPrevented).toBe(true);
    expect(document.querySelector('[data-testid="drop-overlay"]')).toBeNull();
    await settle();

    expect(importFile).toHaveBeenCalledWith(file, { id: expect.any(String) });
    const result = document.querySelector<HTMLElement>('[data-testid="import-result"]');
    expect(result?.dataset.status).toBe('ok');
  });

  it('ignores drags that carry no files', async () => {
    await render();
    const event = new Event('dragenter', { bubbles: true, cancelable: true });
    Object.defineProperty(event, 'dataTransfer', { value: { types: ['text/plain'], files: [] } });
    document.body.dispatchEvent(event);
    flushSync();

    expect(document.querySelector('[data-testid="drop-overlay"]')).toBeNull();
    expect(event.defaultPrevented).toBe(false);
  });
});
