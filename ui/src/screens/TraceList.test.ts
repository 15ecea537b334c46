import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  listTraces: vi.fn(),
  traceFacets: vi.fn(),
  importFile: vi.fn(),
}));

import { ApiError, importFile, listTraces, traceFacets } from '../lib/api';
import { resetImports } from '../lib/imports.svelte';
import { traceListState } from '../lib/listState.svelte';
import type { TraceFacets } from '../lib/types';
import { importReport, summary, traceList } from '../test-fixtures';
import TraceList from './TraceList.svelte';

const listTracesMock = vi.mocked(listTraces);
const traceFacetsMock = vi.mocked(traceFacets);

const FACETS: TraceFacets = {
  tenants: [
    { value: 'acme', count: 12 },
    { value: 'globex', count: 3 },
  ],
  endpoints: [{ value: '/v1/chat', count: 15 }],
  models: [{ value: 'gpt-4o', count: 9 }],
  environments: [{ value: 'production', count: 15 }],
};

/** Lets pending promise callbacks and the effects they trigger run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
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

beforeEach(() => {
  listTracesMock.mockReset();
  traceFacetsMock.mockReset();
  traceFacetsMock.mockResolvedValue(FACETS);
  resetImports();
  traceListState.href = '#/traces';
  window.history.replaceState(null, '', '/');
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
  vi.useRealTimers();
});

describe('TraceList', () => {
  it('requests the first page and renders one clickable row per trace', async () => {
    listTracesMock.mockResolvedValue(
      traceList([
        summary('t1', { tenant: 'acme', endpoint: '/v1/chat' }),
        summary('t2', { status: 'error', error_count: 2 }),
      ]),
    );

    const view = render();
    await settle();

    expect(listTracesMock).toHaveBeenCalledWith({ limit: 50, offset: 0 });
    expect(traceFacetsMock).toHaveBeenCalledWith({});
    const rows = view.querySelectorAll<HTMLElement>('[data-testid="trace-row"]');
    expect([...rows].map((row) => row.dataset.traceId)).toEqual(['t1', 't2']);
    expect(byTestId(view, 'trace-total').textContent).toContain('2');
    expect(rows[0]?.querySelector('[data-testid="trace-tenant"]')?.textContent).toBe('acme');
    expect(rows[0]?.querySelector('[data-testid="trace-endpoint"]')?.textContent).toBe('/v1/chat');
    expect(rows[1]?.querySelector('[data-testid="trace-tenant"]')?.textContent).toBe('—');
    expect(rows[1]?.textContent).toContain('Error');
    // The name stays the second cell (the desktop e2e test clicks it).
    expect(rows[0]?.querySelector('td:nth-child(2)')?.textContent?.trim()).toBe('trace t1');

    rows[1]?.click();
    expect(window.location.hash).toBe('#/traces/t2');
  });

  it('opens a trace from the keyboard', async () => {
    listTracesMock.mockResolvedValue(traceList([summary('t1')]));
    const view = render();
    await settle();

    const row = byTestId(view, 'trace-row');
    expect(row.tabIndex).toBe(0);
    row.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }));

    expect(window.location.hash).toBe('#/traces/t1');
  });

  it('shows the empty state with the import hint when there are no traces', async () => {
    listTracesMock.mockResolvedValue(traceList([]));

    const view = render();
    await settle();

    const empty = byTestId(view, 'empty-state');
    expect(empty.textContent).toContain('No traces yet');
    expect(empty.textContent).toContain('assay import FILE');
    expect(byTestId(view, 'trace-total').textContent).toContain('0');
  });

  it('shows backend errors with their code in a banner', async () => {
    listTracesMock.mockRejectedValue(new ApiError('unauthorized', 'missing token'));

    const view = render();
    await settle();

    const banner = byTestId(view, 'error-banner');
    expect(banner.textContent).toContain('unauthorized');
    expect(banner.textContent).toContain('missing token');
  });

  it('sends the search after a pause in typing, back on the first page, and keeps it in the hash', async () => {
    vi.useFakeTimers();
    listTracesMock.mockResolvedValue(traceList([summary('t1')], 120));
    const view = render();
    await settle();

    view.querySelector<HTMLButtonElement>('.pager button:last-child')?.click();
    flushSync();
    await settle();
    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 50 });
    expect(window.location.hash).toBe('#/traces?offset=50');

    const input = byTestId<HTMLInputElement>(view, 'search-input');
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
    expect(window.location.hash).toBe('#/traces?search=ref');
    expect(traceListState.href).toBe('#/traces?search=ref');
  });

  it('starts from the filters in the hash and shows them in the filter bar', async () => {
    window.history.replaceState(
      null,
      '',
      '/#/traces?search=refund&tenant=acme&status=error&sort=slowest&range=custom&since=2026-11-01&until=2026-11-30',
    );
    listTracesMock.mockResolvedValue(traceList([summary('t1')]));

    const view = render();
    await settle();

    expect(listTracesMock).toHaveBeenCalledTimes(1);
    expect(listTracesMock).toHaveBeenCalledWith({
      limit: 50,
      offset: 0,
      search: 'refund',
      since: new Date(2026, 10, 1).toISOString(),
      until: new Date(2026, 11, 1).toISOString(),
      tenant: 'acme',
      status: 'error',
      sort: 'slowest',
    });
    expect(traceFacetsMock).toHaveBeenCalledWith({
      since: new Date(2026, 10, 1).toISOString(),
      until: new Date(2026, 11, 1).toISOString(),
    });
    expect(byTestId<HTMLSelectElement>(view, 'filter-tenant').value).toBe('acme');
    expect(byTestId<HTMLSelectElement>(view, 'filter-status').value).toBe('error');
    expect(byTestId<HTMLSelectElement>(view, 'filter-sort').value).toBe('slowest');
    expect(byTestId<HTMLSelectElement>(view, 'filter-range').value).toBe('custom');
    expect(byTestId<HTMLInputElement>(view, 'filter-since').value).toBe('2026-11-01');
    expect(byTestId<HTMLInputElement>(view, 'filter-until').value).toBe('2026-11-30');
    expect(byTestId<HTMLInputElement>(view, 'search-input').value).toBe('refund');
    // The link is left as it was: it already says exactly this.
    expect(window.location.hash).toBe(
      '#/traces?search=refund&tenant=acme&status=error&sort=slowest&range=custom&since=2026-11-01&until=2026-11-30',
    );
  });

  it('fills the facet selects from trace_facets and filters on a choice', async () => {
    listTracesMock.mockResolvedValue(traceList([summary('t1')], 120));
    const view = render();
    await settle();

    const tenant = byTestId<HTMLSelectElement>(view, 'filter-tenant');
    expect([...tenant.options].map((option) => option.textContent)).toEqual([
      'All tenants',
      'acme (12)',
      'globex (3)',
    ]);
    expect([...byTestId<HTMLSelectElement>(view, 'filter-environment').options].map((o) => o.value)).toEqual([
      '',
      'production',
    ]);

    view.querySelector<HTMLButtonElement>('.pager button:last-child')?.click();
    flushSync();
    await settle();

    choose(tenant, 'globex');
    await settle();
    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 0, tenant: 'globex' });
    expect(window.location.hash).toBe('#/traces?tenant=globex');

    choose(byTestId<HTMLSelectElement>(view, 'filter-status'), 'ok');
    choose(byTestId<HTMLSelectElement>(view, 'filter-endpoint'), '/v1/chat');
    choose(byTestId<HTMLSelectElement>(view, 'filter-model'), 'gpt-4o');
    choose(byTestId<HTMLSelectElement>(view, 'filter-sort'), 'most_spans');
    await settle();
    expect(listTracesMock).toHaveBeenLastCalledWith({
      limit: 50,
      offset: 0,
      tenant: 'globex',
      endpoint: '/v1/chat',
      model: 'gpt-4o',
      status: 'ok',
      sort: 'most_spans',
    });

    choose(tenant, '');
    await settle();
    const last = listTracesMock.mock.lastCall?.[0];
    expect(last).not.toHaveProperty('tenant');
  });

  it('refreshes the facets for a new time range', async () => {
    vi.useFakeTimers({ now: new Date('2026-11-27T12:00:00.000Z'), toFake: ['Date'] });
    listTracesMock.mockResolvedValue(traceList([summary('t1')]));
    const view = render();
    await settle();
    expect(traceFacetsMock).toHaveBeenCalledTimes(1);

    choose(byTestId<HTMLSelectElement>(view, 'filter-range'), '24h');
    await settle();

    expect(traceFacetsMock).toHaveBeenCalledTimes(2);
    expect(traceFacetsMock).toHaveBeenLastCalledWith({ since: '2026-11-26T12:00:00.000Z' });
    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 0, since: '2026-11-26T12:00:00.000Z' });
    expect(window.location.hash).toBe('#/traces?range=24h');

    // A status change does not refetch the facets.
    choose(byTestId<HTMLSelectElement>(view, 'filter-status'), 'error');
    await settle();
    expect(traceFacetsMock).toHaveBeenCalledTimes(2);
  });

  it('clears every filter but keeps the sort', async () => {
    window.history.replaceState(null, '', '/#/traces?tenant=acme&status=error&sort=oldest&range=7d&search=x');
    listTracesMock.mockResolvedValue(traceList([summary('t1')]));
    const view = render();
    await settle();

    const clear = byTestId<HTMLButtonElement>(view, 'filter-clear');
    expect(clear.disabled).toBe(false);
    clear.click();
    flushSync();
    await settle();

    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 0, sort: 'oldest' });
    expect(window.location.hash).toBe('#/traces?sort=oldest');
    expect(byTestId<HTMLInputElement>(view, 'search-input').value).toBe('');
    expect(byTestId<HTMLSelectElement>(view, 'filter-tenant').value).toBe('');
    expect(clear.disabled).toBe(true);
  });

  it('follows the hash when it changes to another filtered view', async () => {
    listTracesMock.mockResolvedValue(traceList([summary('t1')]));
    const view = render();
    await settle();

    window.history.replaceState(null, '', '/#/traces?environment=production');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    flushSync();
    await settle();

    expect(listTracesMock).toHaveBeenLastCalledWith({ limit: 50, offset: 0, environment: 'production' });
    expect(byTestId<HTMLSelectElement>(view, 'filter-environment').value).toBe('production');
  });

  it('says when filters match nothing, and offers to clear them', async () => {
    window.history.replaceState(null, '', '/#/traces?tenant=nobody');
    listTracesMock.mockResolvedValue(traceList([]));
    const view = render();
    await settle();

    const empty = byTestId(view, 'empty-state');
    expect(empty.textContent).toContain('No traces match these filters');
    expect(empty.textContent).not.toContain('No traces yet');
    // A value from a link stays selectable even when the facets do not list it.
    expect(byTestId<HTMLSelectElement>(view, 'filter-tenant').value).toBe('nobody');
  });

  it('tells when the search index is catching up, only while searching', async () => {
    listTracesMock.mockResolvedValue(traceList([summary('t1')], 1, 1234));
    const view = render();
    await settle();
    expect(view.querySelector('[data-testid="search-pending"]')).toBeNull();

    window.history.replaceState(null, '', '/#/traces?search=refund');
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    flushSync();
    await settle();

    expect(byTestId(view, 'search-pending').textContent).toContain(
      'Search index is catching up: 1,234 spans not searchable yet',
    );
  });

  it('imports the chosen files, then reloads the list and the facets', async () => {
    listTracesMock.mockResolvedValue(traceList([summary('t1')]));
    vi.mocked(importFile).mockResolvedValue({ imported: [importReport()], failed: [] });
    const view = render();
    await settle();
    expect(listTracesMock).toHaveBeenCalledTimes(1);
    expect(traceFacetsMock).toHaveBeenCalledTimes(1);

    const input = byTestId<HTMLInputElement>(view, 'import-input');
    const clickInput = vi.spyOn(input, 'click');
    byTestId<HTMLButtonElement>(view, 'import-button').click();
    expect(clickInput).toHaveBeenCalled();

    const files = [new File(['{}'], 'a.json'), new File(['{}'], 'b.jsonl')];
    Object.defineProperty(input, 'files', { value: files, configurable: true });
    input.dispatchEvent(new Event('change', { bubbles: true }));
    await settle();
    await settle();

    expect(vi.mocked(importFile).mock.calls.map(([file]) => file.name)).toEqual(['a.json', 'b.jsonl']);
    expect(listTracesMock).toHaveBeenCalledTimes(2);
    expect(traceFacetsMock).toHaveBeenCalledTimes(2);
  });
});
