import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';

vi.mock('../lib/api', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../lib/api')>()),
  importFile: vi.fn(),
  importProgress: vi.fn(),
}));

import { ApiError, importFile, importProgress } from '../lib/api';
import { PROGRESS_EVERY_MS, importFiles, importState, resetImports } from '../lib/imports.svelte';
import type { ImportOutcome } from '../lib/types';
import { importReport } from '../test-fixtures';
import ImportPanel from './ImportPanel.svelte';

const importFileMock = vi.mocked(importFile);
const importProgressMock = vi.mocked(importProgress);

let component: ReturnType<typeof mount> | null = null;

function render(): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  component = mount(ImportPanel, { target });
  flushSync();
  return target;
}

function results(view: HTMLElement): HTMLElement[] {
  return [...view.querySelectorAll<HTMLElement>('[data-testid="import-result"]')];
}

/** A promise with its resolve function, to hold an upload in flight. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

beforeEach(() => {
  resetImports();
  importFileMock.mockReset();
  importProgressMock.mockReset();
  importProgressMock.mockResolvedValue(null);
});

afterEach(() => {
  if (component) unmount(component);
  component = null;
  document.body.innerHTML = '';
});

describe('ImportPanel', () => {
  it('stays hidden until something is imported', () => {
    const view = render();
    expect(view.querySelector('[data-testid="import-panel"]')).toBeNull();
  });

  it('shows progress, then an ok result and a failed one', async () => {
    const first = deferred<ImportOutcome>();
    importFileMock.mockImplementationOnce(() => first.promise).mockResolvedValueOnce({
      imported: [],
      failed: [{ source: 'notes.txt', error: { code: 'invalid_input', message: 'notes.txt: not a trace format Assay reads' } }],
    });
    const view = render();

    const done = importFiles([new File(['{}'], 'traces.json'), new File(['hello'], 'notes.txt')]);
    flushSync();

    let [ok, failed] = results(view);
    expect(ok?.dataset.status).toBe('pending');
    expect(ok?.textContent).toContain('importing…');
    expect(ok?.querySelector('.spinner')).not.toBeNull();
    expect(failed?.dataset.status).toBe('pending');
    expect(failed?.textContent).toContain('waiting…');
    expect(importFileMock).toHaveBeenCalledTimes(1);

    first.resolve({
      imported: [
        importReport({
          source: 'traces.json',
          spans_new: 1500,
          spans_merged: 3,
          spans_unchanged: 2,
          rejected_count: 7,
          rejected: [
            { location: 'line 4', field: 'startTimeUnixNano', message: 'not a number' },
            { location: 'line 9', field: null, message: 'not JSON' },
          ],
        }),
      ],
      failed: [],
    });
    await done;
    flushSync();

    [ok, failed] = results(view);
    expect(ok?.dataset.status).toBe('ok');
    expect(ok?.textContent).toContain('traces.json');
    expect(ok?.querySelector('[data-testid="import-summary"]')?.textContent).toContain('1,500 new, 3 merged');
    expect(ok?.querySelector('[data-testid="import-summary"]')?.textContent?.replace(/\s+/g, ' ')).toContain(
      '3 merged (2 unchanged)',
    );
    const rejected = ok!.querySelector<HTMLElement>('[data-testid="import-rejected"]')!;
    expect(rejected.textContent).toContain('7 records rejected');
    const lines = [...rejected.querySelectorAll('li')].map((line) => line.textContent?.replace(/\s+/g, ' ').trim());
    expect(lines).toEqual(['line 4 startTimeUnixNano not a number', 'line 9 not JSON']);
    expect(rejected.textContent).toContain('and 2 more');

    expect(failed?.dataset.status).toBe('failed');
    expect(failed?.querySelector('[data-testid="import-error"]')?.textContent).toContain(
      'notes.txt: not a trace format Assay reads',
    );
    expect(failed?.textContent).toContain('(invalid_input)');
    expect(view.textContent).toContain('2 of 2 files done');
    expect(importState.generation).toBe(1);
  });

  it('shows how far a large file has got while it imports', async () => {
    vi.useFakeTimers();
    try {
      const upload = deferred<ImportOutcome>();
      importFileMock.mockImplementationOnce(() => upload.promise);
      importProgressMock.mockResolvedValue({ bytes: 1_500, spans: 40_000 });
      const view = render();

      const done = importFiles([new File(['x'.repeat(3_000)], 'month.jsonl')]);
      flushSync();
      const [, options] = importFileMock.mock.calls[0]!;
      const id = options?.id;
      expect(id).toBeTruthy();
      expect(results(view)[0]?.textContent).toContain('importing…');

      await vi.advanceTimersByTimeAsync(PROGRESS_EVERY_MS);
      flushSync();
      expect(importProgressMock).toHaveBeenCalledWith(id);
      const row = results(view)[0]!;
      expect(row.querySelector('[data-testid="import-progress"]')?.textContent).toContain('40,000 spans');
      const bar = row.querySelector('progress')!;
      expect([bar.value, bar.max]).toEqual([1_500, 3_000]);

      upload.resolve({ imported: [importReport({ source: 'month.jsonl' })], failed: [] });
      await done;
      flushSync();
      expect(results(view)[0]?.dataset.status).toBe('ok');
      expect(results(view)[0]?.querySelector('progress')).toBeNull();
      // Finished: no more asking.
      const asked = importProgressMock.mock.calls.length;
      await vi.advanceTimersByTimeAsync(PROGRESS_EVERY_MS * 3);
      expect(importProgressMock.mock.calls.length).toBe(asked);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports a transport error as a failed file', async () => {
    importFileMock.mockRejectedValue(new ApiError('unauthorized', 'missing token'));
    const view = render();

    await importFiles([new File(['{}'], 'a.json')]);
    flushSync();

    const [failed] = results(view);
    expect(failed?.dataset.status).toBe('failed');
    expect(failed?.textContent).toContain('missing token');
    expect(failed?.textContent).toContain('(unauthorized)');
    // Nothing imported: the lists need no reload.
    expect(importState.generation).toBe(0);
  });

  it('uploads one file at a time, in order, and takes files added meanwhile', async () => {
    const order: string[] = [];
    let inFlight = 0;
    importFileMock.mockImplementation(async (file: File) => {
      inFlight++;
      expect(inFlight).toBe(1);
      order.push(file.name);
      await Promise.resolve();
      inFlight--;
      return { imported: [importReport({ source: file.name })], failed: [] };
    });
    const view = render();

    const first = importFiles([new File(['1'], 'one.json'), new File(['2'], 'two.json')]);
    const second = importFiles([new File(['3'], 'three.json')]);
    await Promise.all([first, second]);
    flushSync();

    expect(order).toEqual(['one.json', 'two.json', 'three.json']);
    expect(results(view).map((result) => result.dataset.status)).toEqual(['ok', 'ok', 'ok']);
    expect(importState.generation).toBe(1);
  });

  it('dismisses finished results', async () => {
    importFileMock.mockResolvedValue({ imported: [importReport()], failed: [] });
    const view = render();
    await importFiles([new File(['{}'], 'a.json')]);
    flushSync();
    expect(results(view)).toHaveLength(1);

    view.querySelector<HTMLButtonElement>('.close')?.click();
    flushSync();

    expect(view.querySelector('[data-testid="import-panel"]')).toBeNull();
  });

  it('folds to its header, and unfolds for new files', async () => {
    importFileMock.mockResolvedValue({ imported: [importReport()], failed: [] });
    const view = render();
    await importFiles([new File(['{}'], 'a.json')]);
    flushSync();

    const fold = view.querySelector<HTMLButtonElement>('.fold')!;
    fold.click();
    flushSync();
    expect(view.querySelector('ol')?.hidden).toBe(true);
    expect(fold.getAttribute('aria-expanded')).toBe('false');

    const more = importFiles([new File(['{}'], 'b.json')]);
    flushSync();
    expect(view.querySelector('ol')?.hidden).toBe(false);
    await more;
  });
});
