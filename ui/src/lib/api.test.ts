import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

vi.mock('@tauri-apps/api/core', () => ({ invoke: vi.fn() }));

import { invoke } from '@tauri-apps/api/core';
import {
  ApiError,
  call,
  captureTokenFromUrl,
  clearToken,
  costBreakdown,
  costChart,
  evalCancel,
  evalDiff,
  evalProgress,
  evalRunGet,
  evalRuns,
  evalSets,
  evalStart,
  evalTrend,
  fileDiff,
  fileGet,
  fileHistory,
  fileSave,
  getToken,
  gitRefs,
  getTrace,
  importFile,
  UPLOAD_PART_BYTES,
  importPaths,
  importProgress,
  keysDelete,
  keysSet,
  keysStatus,
  listTraces,
  promptRender,
  traceFacets,
  workspaceFiles,
  workspaceInfo,
} from './api';

const invokeMock = vi.mocked(invoke);

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

function stubFetch(response: Response | (() => Promise<Response>)) {
  const fetchMock = vi.fn(typeof response === 'function' ? response : async () => response);
  vi.stubGlobal('fetch', fetchMock);
  return fetchMock;
}

type TauriWindow = Window & { __TAURI_INTERNALS__?: unknown };

function requestOf(fetchMock: ReturnType<typeof stubFetch>, index = 0) {
  const [url, init] = fetchMock.mock.calls[index] as unknown as [string, RequestInit];
  return { url, init, headers: init.headers as Record<string, string> };
}

beforeEach(() => {
  invokeMock.mockReset();
  clearToken();
  window.history.replaceState(null, '', '/');
});

afterEach(() => {
  delete (window as TauriWindow).__TAURI_INTERNALS__;
});

describe('transport selection', () => {
  it('uses Tauri invoke with a single `args` parameter inside the desktop app', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    const fetchMock = stubFetch(jsonResponse({}));
    invokeMock.mockResolvedValue({ traces: [], total: 0 });

    const result = await listTraces({ limit: 50, offset: 0, search: 'agent' });

    expect(invokeMock).toHaveBeenCalledTimes(1);
    expect(invokeMock).toHaveBeenCalledWith('traces_list', {
      args: { limit: 50, offset: 0, search: 'agent' },
    });
    expect(fetchMock).not.toHaveBeenCalled();
    expect(result).toEqual({ traces: [], total: 0 });
  });

  it('passes an empty args object for commands without arguments', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    invokeMock.mockResolvedValue({ root: '/w' });

    await workspaceInfo();
    await call('workspace_info');

    expect(invokeMock).toHaveBeenNthCalledWith(1, 'workspace_info', { args: {} });
    expect(invokeMock).toHaveBeenNthCalledWith(2, 'workspace_info', { args: {} });
  });

  it('turns a Tauri rejection body into an ApiError with the same code', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    invokeMock.mockRejectedValue({ code: 'not_found', message: 'no trace abc' });

    const error = await getTrace('abc').catch((caught: unknown) => caught);

    expect(invokeMock).toHaveBeenCalledWith('trace_get', { args: { trace_id: 'abc' } });
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'not_found', message: 'no trace abc' });
  });

  it('uses HTTP POST to /api/<command> in a browser', async () => {
    const fetchMock = stubFetch(jsonResponse({ trace_id: 't1', spans: [] }));

    const detail = await getTrace('t1');

    expect(invokeMock).not.toHaveBeenCalled();
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const { url, init, headers } = requestOf(fetchMock);
    expect(url).toBe('/api/trace_get');
    expect(init.method).toBe('POST');
    expect(headers['content-type']).toBe('application/json');
    expect(headers.authorization).toBeUndefined();
    expect(JSON.parse(init.body as string)).toEqual({ trace_id: 't1' });
    expect(detail).toEqual({ trace_id: 't1', spans: [] });
  });

  it('sends `{}` as the body when a command has no arguments', async () => {
    const fetchMock = stubFetch(jsonResponse({ root: '/w' }));

    await call('workspace_info');

    expect(requestOf(fetchMock).init.body).toBe('{}');
  });
});

describe('HTTP errors', () => {
  it('turns a non-2xx {code, message} body into an ApiError with that code', async () => {
    stubFetch(jsonResponse({ code: 'invalid_input', message: 'limit must be positive' }, 400));

    const error = await listTraces({ limit: -1 }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'invalid_input', message: 'limit must be positive' });
  });

  it('keeps the backend code even when the status would suggest another', async () => {
    stubFetch(jsonResponse({ code: 'internal', message: 'database is locked' }, 404));

    await expect(workspaceInfo()).rejects.toMatchObject({ code: 'internal' });
  });

  it('derives a code from the status when the error body is not structured', async () => {
    stubFetch(new Response('<html>Unauthorized</html>', { status: 401 }));

    await expect(workspaceInfo()).rejects.toMatchObject({ code: 'unauthorized' });
  });

  it('reports a network failure as `unreachable`', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')));

    const error = await workspaceInfo().catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('unreachable');
  });

  it('reports a 2xx response that is not JSON as `bad_response`', async () => {
    stubFetch(new Response('<!doctype html>', { status: 200 }));

    await expect(workspaceInfo()).rejects.toMatchObject({ code: 'bad_response' });
  });
});

describe('access token', () => {
  it('reads the token from #token=, stores it and removes it from the URL', async () => {
    window.history.replaceState(null, '', '/#token=s3cret');

    captureTokenFromUrl();

    expect(getToken()).toBe('s3cret');
    expect(sessionStorage.getItem('assay.token')).toBe('s3cret');
    expect(window.location.href).not.toContain('s3cret');
    expect(window.location.hash).toBe('');
  });

  it('reads the token from ?token= and keeps the route hash', () => {
    window.history.replaceState(null, '', '/?token=abc&lang=en#/traces/t1');

    captureTokenFromUrl();

    expect(getToken()).toBe('abc');
    expect(window.location.search).toBe('?lang=en');
    expect(window.location.hash).toBe('#/traces/t1');
  });

  it('leaves route hashes alone when there is no token', () => {
    window.history.replaceState(null, '', '/#/traces/abc');
    const replaceState = vi.spyOn(window.history, 'replaceState');

    captureTokenFromUrl();

    expect(getToken()).toBeNull();
    expect(replaceState).not.toHaveBeenCalled();
    expect(window.location.hash).toBe('#/traces/abc');
  });

  it('sends the token as a bearer authorization header', async () => {
    window.history.replaceState(null, '', '/#token=XYZ');
    captureTokenFromUrl();
    const fetchMock = stubFetch(jsonResponse({ traces: [], total: 0 }));

    await listTraces({ limit: 50 });

    expect(requestOf(fetchMock).headers.authorization).toBe('Bearer XYZ');
  });
});

describe('trace_facets and import_paths', () => {
  it('sends the facet range as the arguments, and `{}` without one', async () => {
    const facets = { tenants: [{ value: 'acme', count: 2 }], endpoints: [], models: [], environments: [] };
    const fetchMock = stubFetch(async () => jsonResponse(facets));

    const result = await traceFacets({ since: '2026-11-01T00:00:00.000Z' });
    await traceFacets();

    expect(requestOf(fetchMock, 0).url).toBe('/api/trace_facets');
    expect(JSON.parse(requestOf(fetchMock, 0).init.body as string)).toEqual({ since: '2026-11-01T00:00:00.000Z' });
    expect(requestOf(fetchMock, 1).init.body).toBe('{}');
    expect(result).toEqual(facets);
  });

  it('passes paths to import_paths over Tauri', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    invokeMock.mockResolvedValue({ imported: [], failed: [] });

    await importPaths(['/data/traces', '/data/more.jsonl']);

    expect(invokeMock).toHaveBeenCalledWith('import_paths', {
      args: { paths: ['/data/traces', '/data/more.jsonl'] },
    });
  });
});

describe('evaluation and key commands', () => {
  it('send each command by its backend name with its arguments over HTTP', async () => {
    const fetchMock = stubFetch(async () => jsonResponse({}));

    await evalSets();
    await evalRuns();
    await evalRuns({ evalset: 'support', limit: 10 });
    await evalRunGet('run-1');
    await evalStart({ target: 'support', replay: true });
    await evalProgress('run-2');
    await evalCancel('run-3');
    await keysStatus();
    await keysSet('openai', 'sk-test');
    await keysDelete('anthropic');

    const sent = fetchMock.mock.calls.map((_, index) => {
      const { url, init } = requestOf(fetchMock, index);
      return [url, JSON.parse(init.body as string)];
    });
    expect(sent).toEqual([
      ['/api/eval_sets', {}],
      ['/api/eval_runs', {}],
      ['/api/eval_runs', { evalset: 'support', limit: 10 }],
      ['/api/eval_run_get', { run_id: 'run-1' }],
      ['/api/eval_start', { target: 'support', replay: true }],
      ['/api/eval_progress', { run_id: 'run-2' }],
      ['/api/eval_cancel', { run_id: 'run-3' }],
      ['/api/keys_status', {}],
      ['/api/keys_set', { provider: 'openai', key: 'sk-test' }],
      ['/api/keys_delete', { provider: 'anthropic' }],
    ]);
  });

  it('sends the file, history and diff commands by their backend names', async () => {
    const fetchMock = stubFetch(async () => jsonResponse({}));

    await workspaceFiles();
    await fileGet({ path: 'prompts/a.yaml' });
    await fileGet({ path: 'prompts/a.yaml', rev: 'HEAD' });
    await fileHistory('prompts/a.yaml');
    await fileDiff({ path: 'prompts/a.yaml', from: 'abc', to: null });
    await fileSave({ path: 'prompts/a.yaml', content: 'x', commit_message: 'Tighten' });
    await promptRender({ evalset: 'support', prompt_id: 'a' });
    await gitRefs();
    await evalDiff({ evalset: 'support', base: 'HEAD~1', head: 'WORKTREE', replay: true, gates: { no_regressions: true } });
    await evalTrend({ evalset: 'support', theme: 'dark' });
    await costBreakdown({ by: ['tenant'], top: 8, filters: { model: 'gpt-4o' } });
    await costChart({ by: 'tenant', per: 'day', theme: 'light', width: 900 });

    const sent = fetchMock.mock.calls.map((_, index) => {
      const { url, init } = requestOf(fetchMock, index);
      return [url, JSON.parse(init.body as string)];
    });
    expect(sent).toEqual([
      ['/api/workspace_files', {}],
      ['/api/file_get', { path: 'prompts/a.yaml' }],
      ['/api/file_get', { path: 'prompts/a.yaml', rev: 'HEAD' }],
      ['/api/file_history', { path: 'prompts/a.yaml' }],
      ['/api/file_diff', { path: 'prompts/a.yaml', from: 'abc', to: null }],
      ['/api/file_save', { path: 'prompts/a.yaml', content: 'x', commit_message: 'Tighten' }],
      ['/api/prompt_render', { evalset: 'support', prompt_id: 'a' }],
      ['/api/git_refs', {}],
      [
        '/api/eval_diff',
        { evalset: 'support', base: 'HEAD~1', head: 'WORKTREE', replay: true, gates: { no_regressions: true } },
      ],
      ['/api/eval_trend', { evalset: 'support', theme: 'dark' }],
      ['/api/cost_breakdown', { by: ['tenant'], top: 8, filters: { model: 'gpt-4o' } }],
      ['/api/cost_chart', { by: 'tenant', per: 'day', theme: 'light', width: 900 }],
    ]);
  });

  it('send the same names and arguments over Tauri and return the answer', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    const progress = { run_id: 'r', status: 'running', done: 0, total: 4 };
    invokeMock.mockResolvedValue(progress);

    await expect(evalStart({ target: 'support' })).resolves.toEqual(progress);
    await evalProgress('r');
    await keysSet('gemini', 'k');

    expect(invokeMock).toHaveBeenNthCalledWith(1, 'eval_start', { args: { target: 'support' } });
    expect(invokeMock).toHaveBeenNthCalledWith(2, 'eval_progress', { args: { run_id: 'r' } });
    expect(invokeMock).toHaveBeenNthCalledWith(3, 'keys_set', { args: { provider: 'gemini', key: 'k' } });
  });
});

describe('importFile', () => {
  const outcome = { imported: [], failed: [] };

  it('uploads the raw file over HTTP with its name in a header', async () => {
    window.history.replaceState(null, '', '/#token=T0K');
    captureTokenFromUrl();
    const fetchMock = stubFetch(jsonResponse(outcome));
    const file = new File(['{"resourceSpans":[]}'], 'otel export ü #1.json', { type: 'application/json' });

    const result = await importFile(file);

    expect(invokeMock).not.toHaveBeenCalled();
    const { url, init, headers } = requestOf(fetchMock);
    expect(url).toBe('/api/import_upload');
    expect(init.method).toBe('POST');
    expect(init.body).toBe(file);
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(headers['x-assay-file-name']).toBe('otel%20export%20%C3%BC%20%231.json');
    expect(decodeURIComponent(headers['x-assay-file-name']!)).toBe('otel export ü #1.json');
    expect(headers['x-assay-format']).toBeUndefined();
    expect(headers.authorization).toBe('Bearer T0K');
    expect(result).toEqual(outcome);
  });

  it('names a format when asked to', async () => {
    const fetchMock = stubFetch(jsonResponse(outcome));

    await importFile(new File(['x'], 'runs.txt'), { format: 'langsmith_jsonl' });

    expect(requestOf(fetchMock).headers['x-assay-format']).toBe('langsmith_jsonl');
  });

  it('sends the id its progress is asked by, and asks for it', async () => {
    const fetchMock = stubFetch(async () => jsonResponse({ bytes: 2048, spans: 20000 }));

    await importFile(new File(['x'], 'month.jsonl'), { id: 'p4ge-1' });
    const progress = await importProgress('p4ge-1');

    expect(requestOf(fetchMock).headers['x-assay-import-id']).toBe('p4ge-1');
    const { url, init } = requestOf(fetchMock, 1);
    expect([url, JSON.parse(init.body as string)]).toEqual(['/api/import_progress', { id: 'p4ge-1' }]);
    expect(progress).toEqual({ bytes: 2048, spans: 20000 });
  });

  it('sends a file over Tauri in parts that the backend imports as they arrive', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    const fetchMock = stubFetch(jsonResponse({}));
    const parts: { bytes: Uint8Array; headers: Record<string, string> }[] = [];
    invokeMock.mockImplementation(async (command: string, body?: unknown, options?: unknown) => {
      if (command === 'import_upload_part') {
        const { headers } = options as { headers: Record<string, string> };
        parts.push({ bytes: body as Uint8Array, headers });
        return true;
      }
      return command === 'import_upload_parts' ? outcome : null;
    });
    const size = 2 * UPLOAD_PART_BYTES + 3;
    const content = new Uint8Array(size);
    // Marks at each part's edges, to check the slices line up.
    for (const at of [0, UPLOAD_PART_BYTES - 1, UPLOAD_PART_BYTES, 2 * UPLOAD_PART_BYTES, size - 1]) content[at] = 1 + (at % 250);
    const file = new File([content], 'spans ü.jsonl.gz');

    const result = await importFile(file, { id: 'p4ge-2', format: 'otlp_jsonl' });

    expect(fetchMock).not.toHaveBeenCalled();
    expect(invokeMock).toHaveBeenNthCalledWith(1, 'import_upload_begin', { args: { id: 'p4ge-2' } });
    expect(invokeMock).toHaveBeenNthCalledWith(2, 'import_upload_parts', {
      args: { name: 'spans ü.jsonl.gz', format: 'otlp_jsonl', id: 'p4ge-2' },
    });
    expect(parts.map((p) => p.bytes.length)).toEqual([UPLOAD_PART_BYTES, UPLOAD_PART_BYTES, 3]);
    expect(parts.map((p) => p.headers)).toEqual([
      { 'x-assay-import-id': 'p4ge-2' },
      { 'x-assay-import-id': 'p4ge-2' },
      { 'x-assay-import-id': 'p4ge-2', 'x-assay-last-part': '1' },
    ]);
    const sent = new Uint8Array(size);
    let at = 0;
    for (const p of parts) {
      sent.set(p.bytes, at);
      at += p.bytes.length;
    }
    expect(sent.every((byte, i) => byte === content[i])).toBe(true);
    expect(result).toEqual(outcome);
  });

  it('sends an empty file as one empty last part, and stops when the import wants no more', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    const sent: number[] = [];
    invokeMock.mockImplementation(async (command: string, body?: unknown) => {
      if (command === 'import_upload_part') {
        sent.push((body as Uint8Array).length);
        return false;
      }
      return command === 'import_upload_parts' ? outcome : null;
    });

    await importFile(new File([], 'empty.json'));
    expect(sent).toEqual([0]);

    sent.length = 0;
    await importFile(new File([new Uint8Array(UPLOAD_PART_BYTES + 1)], 'not-traces.txt'));
    expect(sent).toEqual([UPLOAD_PART_BYTES]);
  });

  it('abandons an upload whose file cannot be read part-way, so its import ends at once', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    const parts: Record<string, string>[] = [];
    invokeMock.mockImplementation(async (command: string, _body?: unknown, options?: unknown) => {
      if (command === 'import_upload_part') {
        parts.push((options as { headers: Record<string, string> }).headers);
        return true;
      }
      return command === 'import_upload_parts' ? outcome : null;
    });
    const file = new File([new Uint8Array(UPLOAD_PART_BYTES + 1)], 'gone.jsonl');
    const slice = file.slice.bind(file);
    file.slice = (start?: number, end?: number) =>
      start === 0 ? slice(start, end) : ({ arrayBuffer: () => Promise.reject(new Error('the file was removed')) } as Blob);

    await expect(importFile(file, { id: 'p4ge-3' })).rejects.toMatchObject({
      code: 'unreadable',
      message: 'Cannot read gone.jsonl: the file was removed',
    });
    expect(parts).toEqual([
      { 'x-assay-import-id': 'p4ge-3' },
      {
        'x-assay-import-id': 'p4ge-3',
        'x-assay-abandon-upload': encodeURIComponent('Cannot read gone.jsonl: the file was removed'),
      },
    ]);
  });

  it('turns a Tauri rejection into an ApiError', async () => {
    (window as TauriWindow).__TAURI_INTERNALS__ = {};
    invokeMock.mockRejectedValue({ code: 'invalid_input', message: 'import_upload takes the file bytes' });

    await expect(importFile(new File(['x'], 'a.json'))).rejects.toMatchObject({
      code: 'invalid_input',
      message: 'import_upload takes the file bytes',
    });
  });

  it('returns per-file failures as the backend reports them', async () => {
    const failed = {
      imported: [],
      failed: [{ source: 'a.txt', error: { code: 'invalid_input', message: 'a.txt: unknown format' } }],
    };
    stubFetch(jsonResponse(failed));

    await expect(importFile(new File(['x'], 'a.txt'))).resolves.toEqual(failed);
  });

  it('explains an upload over the size limit', async () => {
    stubFetch(new Response('length limit exceeded', { status: 413 }));

    await expect(importFile(new File(['x'], 'huge.json'))).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringContaining('too large'),
    });
  });
});
