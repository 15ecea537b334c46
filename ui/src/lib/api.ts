// The only way the UI talks to the backend. Inside the desktop app calls go
// over Tauri IPC; in a browser (`assay serve`) they go over HTTP to /api.
// Both transports carry the same command names, arguments and error bodies.

import { invoke } from '@tauri-apps/api/core';
import type {
  ApiErrorBody,
  CostChart,
  CostChartArgs,
  CostQuery,
  CostReport,
  EvalDiff,
  EvalDiffArgs,
  EvalProgress,
  EvalRunBrief,
  EvalRunDetail,
  EvalRunsQuery,
  EvalSetInfo,
  EvalStart,
  EvalTrend,
  EvalTrendArgs,
  FacetQuery,
  FileContent,
  FileDiff,
  FileDiffArgs,
  FileRef,
  FileSave,
  FileVersionView,
  GitRefs,
  ImportFormat,
  ImportOutcome,
  ImportProgress,
  KeyStatus,
  PromptRender,
  RenderedPrompt,
  TraceDetail,
  TraceFacets,
  TraceList,
  TraceQuery,
  WorkspaceFile,
  WorkspaceFiles,
  WorkspaceInfo,
} from './types';

export class ApiError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
  }
}

/** Client-side error codes, in addition to the ones the backend sends. */
export const UNREACHABLE = 'unreachable';
export const BAD_RESPONSE = 'bad_response';
export const UNREADABLE = 'unreadable';

/** Carries an uploaded file's name, percent-encoded, in both transports. */
export const FILE_NAME_HEADER = 'x-assay-file-name';
/** Optionally names the format of an upload instead of letting the backend detect it. */
export const FORMAT_HEADER = 'x-assay-format';
/** Gives an upload the id `import_progress` is asked with. */
export const IMPORT_ID_HEADER = 'x-assay-import-id';
/** Marks the last part of an upload sent in parts. */
export const LAST_PART_HEADER = 'x-assay-last-part';
/** Abandons an upload sent in parts, giving why (percent-encoded). */
export const ABANDON_HEADER = 'x-assay-abandon-upload';
/**
 * Bytes per part of an upload over Tauri. Its IPC carries one whole message per
 * call, so a file is sent in parts the backend reads as one stream: neither side
 * ever holds the whole file.
 */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

const TOKEN_STORAGE_KEY = 'assay.token';
const TOKEN_PARAM = 'token';

type CommandArgs = object;

export function isTauri(): boolean {
  return typeof window !== 'undefined' && '__TAURI_INTERNALS__' in window;
}

function isErrorBody(value: unknown): value is ApiErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ApiErrorBody).code === 'string' &&
    typeof (value as ApiErrorBody).message === 'string'
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  return String(error);
}

/** Normalizes anything thrown or rejected into an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (isErrorBody(error)) return new ApiError(error.code, error.message);
  return new ApiError('internal', describe(error));
}

// Used only when an HTTP error carries no structured body (e.g. a proxy error page).
function codeForStatus(status: number): string {
  switch (status) {
    case 400:
    case 422:
      return 'invalid_input';
    case 401:
    case 403:
      return 'unauthorized';
    case 404:
      return 'not_found';
    case 413:
      return 'invalid_input';
    default:
      return 'internal';
  }
}

// ---------------------------------------------------------------------------
// Access token for `assay serve` on a non-loopback address.

// Fallback for when browser policy disables sessionStorage.
let memoryToken: string | null = null;

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_STORAGE_KEY) ?? memoryToken;
  } catch {
    return memoryToken;
  }
}

function storeToken(token: string): void {
  memoryToken = token;
  try {
    sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
  } catch {
    // The in-memory copy is enough for this page's lifetime.
  }
}

export function clearToken(): void {
  memoryToken = null;
  try {
    sessionStorage.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // Nothing stored.
  }
}

/** Parameters in a hash like `#token=XYZ`; route hashes (`#/traces`) have none. */
function hashParams(hash: string): URLSearchParams | null {
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  if (body === '' || body.startsWith('/')) return null;
  return new URLSearchParams(body);
}

/**
 * Takes a token from `#token=…` or `?token=…`, keeps it for this browser tab,
 * and removes it from the address bar so it does not linger in history or
 * screenshots. Call once at start-up, before the router reads the hash.
 */
export function captureTokenFromUrl(): void {
  const url = new URL(window.location.href);
  let token: string | null = null;

  const fromHash = hashParams(url.hash);
  if (fromHash?.has(TOKEN_PARAM)) {
    token = fromHash.get(TOKEN_PARAM);
    fromHash.delete(TOKEN_PARAM);
    const rest = fromHash.toString();
    url.hash = rest === '' ? '' : `#${rest}`;
  }

  if (url.searchParams.has(TOKEN_PARAM)) {
    token = token ?? url.searchParams.get(TOKEN_PARAM);
    url.searchParams.delete(TOKEN_PARAM);
  }

  if (token === null) return;
  if (token !== '') storeToken(token);
  window.history.replaceState(window.history.state, '', url.toString());
}

// ---------------------------------------------------------------------------
// Transports.

async function callTauri<T>(command: string, args: CommandArgs): Promise<T> {
  try {
    return await invoke<T>(command, { args });
  } catch (error) {
    // Tauri rejects with the command's serialized error body.
    throw toApiError(error);
  }
}

async function postHttp<T>(
  command: string,
  body: BodyInit,
  headers: Record<string, string>,
): Promise<T> {
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;

  let response: Response;
  try {
    response = await fetch(`/api/${command}`, { method: 'POST', headers, body });
  } catch (error) {
    throw new ApiError(UNREACHABLE, `Cannot reach the Assay backend: ${describe(error)}`);
  }

  let parsed: unknown;
  try {
    parsed = await response.json();
  } catch {
    parsed = undefined;
  }

  if (!response.ok) {
    if (isErrorBody(parsed)) throw new ApiError(parsed.code, parsed.message);
    if (response.status === 413) {
      throw new ApiError(codeForStatus(413), 'The file is too large to upload (HTTP 413)');
    }
    const statusText = response.statusText ? ` ${response.statusText}` : '';
    throw new ApiError(
      codeForStatus(response.status),
      `Request failed with HTTP ${response.status}${statusText}`,
    );
  }
  if (parsed === undefined) {
    throw new ApiError(BAD_RESPONSE, `The backend sent a response that is not JSON for ${command}`);
  }
  return parsed as T;
}

function callHttp<T>(command: string, args: CommandArgs): Promise<T> {
  return postHttp<T>(command, JSON.stringify(args), { 'content-type': 'application/json' });
}

/** Runs one backend command. Failures are always thrown as ApiError. */
export function call<T>(command: string, args?: CommandArgs): Promise<T> {
  const payload = args ?? {};
  return isTauri() ? callTauri<T>(command, payload) : callHttp<T>(command, payload);
}

// ---------------------------------------------------------------------------
// Typed commands.

export function workspaceInfo(): Promise<WorkspaceInfo> {
  return call<WorkspaceInfo>('workspace_info', {});
}

export function listTraces(query: TraceQuery): Promise<TraceList> {
  return call<TraceList>('traces_list', query);
}

export function getTrace(traceId: string): Promise<TraceDetail> {
  return call<TraceDetail>('trace_get', { trace_id: traceId });
}

export function traceFacets(query: FacetQuery = {}): Promise<TraceFacets> {
  return call<TraceFacets>('trace_facets', query);
}

/** The eval sets of the workspace (ones that fail to load carry their error). */
export function evalSets(): Promise<EvalSetInfo[]> {
  return call<EvalSetInfo[]>('eval_sets', {});
}

/** Eval runs, newest first. */
export function evalRuns(query: EvalRunsQuery = {}): Promise<EvalRunBrief[]> {
  return call<EvalRunBrief[]>('eval_runs', query);
}

/** A run with its summary, cases and the results stored so far. */
export function evalRunGet(runId: string): Promise<EvalRunDetail> {
  return call<EvalRunDetail>('eval_run_get', { run_id: runId });
}

/** Starts a run in the background; the answer carries its id. */
export function evalStart(start: EvalStart): Promise<EvalProgress> {
  return call<EvalProgress>('eval_start', start);
}

export function evalProgress(runId: string): Promise<EvalProgress> {
  return call<EvalProgress>('eval_progress', { run_id: runId });
}

/** Stops a running run; what finished is kept. */
export function evalCancel(runId: string): Promise<EvalProgress> {
  return call<EvalProgress>('eval_cancel', { run_id: runId });
}

/** Where each provider's API key comes from (never the key itself). */
export function keysStatus(): Promise<KeyStatus[]> {
  return call<KeyStatus[]>('keys_status', {});
}

/** Stores a provider's key in the OS keyring. */
export function keysSet(provider: string, key: string): Promise<KeyStatus> {
  return call<KeyStatus>('keys_set', { provider, key });
}

/** Removes a provider's key from the OS keyring. */
export function keysDelete(provider: string): Promise<KeyStatus> {
  return call<KeyStatus>('keys_delete', { provider });
}

/** The files under `prompts/` and `evalsets/`, with the branch and what is modified. */
export function workspaceFiles(): Promise<WorkspaceFiles> {
  return call<WorkspaceFiles>('workspace_files', {});
}

/** A file's content in the working tree, or at a git ref. */
export function fileGet(ref: FileRef): Promise<FileContent> {
  return call<FileContent>('file_get', ref);
}

/** A file's versions, newest first (uncommitted changes first, with commit null). */
export function fileHistory(path: string): Promise<FileVersionView[]> {
  return call<FileVersionView[]>('file_history', { path });
}

/** Two versions of a file compared line by line (null = working tree). */
export function fileDiff(args: FileDiffArgs): Promise<FileDiff> {
  return call<FileDiff>('file_diff', args);
}

/** Writes a prompt or eval-set file; commits it when a message is given. */
export function fileSave(save: FileSave): Promise<WorkspaceFile> {
  return call<WorkspaceFile>('file_save', save);
}

/** A prompt rendered with one case's variables. */
export function promptRender(args: PromptRender): Promise<RenderedPrompt> {
  return call<RenderedPrompt>('prompt_render', args);
}

/** Branches, tags and recent commits to compare. */
export function gitRefs(): Promise<GitRefs> {
  return call<GitRefs>('git_refs', {});
}

/** Compares an eval set's results at two refs; may run the eval set (seconds or more). */
export function evalDiff(args: EvalDiffArgs): Promise<EvalDiff> {
  return call<EvalDiff>('eval_diff', args);
}

/** Pass rate and score along a branch's commits, with a chart. */
export function evalTrend(args: EvalTrendArgs): Promise<EvalTrend> {
  return call<EvalTrend>('eval_trend', args);
}

/** Cost over a range: totals, the change against the range before, and a breakdown. */
export function costBreakdown(query: CostQuery): Promise<CostReport> {
  return call<CostReport>('cost_breakdown', query);
}

/** A stacked cost chart over periods, rendered by the backend. */
export function costChart(args: CostChartArgs): Promise<CostChart> {
  return call<CostChart>('cost_chart', args);
}

/** Imports files or folders the backend can read (desktop app and CLI parity). */
export function importPaths(paths: string[]): Promise<ImportOutcome> {
  return call<ImportOutcome>('import_paths', { paths });
}

export interface ImportFileOptions {
  /** Read the file as this format instead of letting the backend detect it. */
  format?: ImportFormat;
  /** An id to follow the import's progress with (`importProgress`). */
  id?: string;
}

/** How far the upload sent with `id` has got; null before it starts and after it ends. */
export function importProgress(id: string): Promise<ImportProgress | null> {
  return call<ImportProgress | null>('import_progress', { id });
}

/**
 * Imports one file from the user's machine. Over HTTP the File is streamed as
 * the body of `import_upload`, its name percent-encoded in the
 * `x-assay-file-name` header. Over Tauri it is sent in parts of
 * {@link UPLOAD_PART_BYTES}: `import_upload_begin` opens the upload,
 * `import_upload_parts` imports it as the parts arrive, and each
 * `import_upload_part` carries the next slice as a raw IPC body.
 */
export async function importFile(file: File, options: ImportFileOptions = {}): Promise<ImportOutcome> {
  if (!isTauri()) {
    const headers: Record<string, string> = { [FILE_NAME_HEADER]: encodeURIComponent(file.name) };
    if (options.format) headers[FORMAT_HEADER] = options.format;
    if (options.id) headers[IMPORT_ID_HEADER] = encodeURIComponent(options.id);
    return postHttp<ImportOutcome>('import_upload', file, {
      'content-type': 'application/octet-stream',
      ...headers,
    });
  }

  const id = options.id ?? `upload-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  try {
    await invoke('import_upload_begin', { args: { id } });
    const imported = invoke<ImportOutcome>('import_upload_parts', {
      args: { name: file.name, format: options.format ?? null, id },
    });
    const [outcome] = await Promise.all([imported, sendParts(file, id)]);
    return outcome;
  } catch (error) {
    throw toApiError(error);
  }
}

/** Sends `file` in order, one slice at a time, until it ends or the import stops wanting more. */
async function sendParts(file: File, id: string): Promise<void> {
  for (let offset = 0; ; offset += UPLOAD_PART_BYTES) {
    const end = Math.min(offset + UPLOAD_PART_BYTES, file.size);
    const headers: Record<string, string> = { [IMPORT_ID_HEADER]: encodeURIComponent(id) };
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    } catch (error) {
      const reason = `Cannot read ${file.name}: ${describe(error)}`;
      // The import ends now with this reason, rather than after waiting for the next part.
      headers[ABANDON_HEADER] = encodeURIComponent(reason);
      await invoke('import_upload_part', new Uint8Array(), { headers }).catch(() => undefined);
      throw new ApiError(UNREADABLE, reason);
    }
    const last = end >= file.size;
    if (last) headers[LAST_PART_HEADER] = '1';
    const more = await invoke<boolean>('import_upload_part', bytes, { headers });
    if (last || !more) return;
  }
}
