// The only way the UI talks to the backend. Inside the desktop app calls go
// over Tauri IPC; in a browser (`assay serve`) they go over HTTP to /api.
// Both transports carry the same command names, arguments and error bodies.

import { invoke } from '@tauri-apps/api/core';
import type {
  ApiErrorBody,
  TraceDetail,
  TraceList,
  TraceQuery,
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

async function callHttp<T>(command: string, args: CommandArgs): Promise<T> {
  const token = getToken();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;

  let response: Response;
  try {
    response = await fetch(`/api/${command}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(args),
    });
  } catch (error) {
    throw new ApiError(UNREACHABLE, `Cannot reach the Assay backend: ${describe(error)}`);
  }

  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }

  if (!response.ok) {
    if (isErrorBody(body)) throw new ApiError(body.code, body.message);
    const statusText = response.statusText ? ` ${response.statusText}` : '';
    throw new ApiError(
      codeForStatus(response.status),
      `Request failed with HTTP ${response.status}${statusText}`,
    );
  }
  if (body === undefined) {
    throw new ApiError(BAD_RESPONSE, `The backend sent a response that is not JSON for ${command}`);
  }
  return body as T;
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
