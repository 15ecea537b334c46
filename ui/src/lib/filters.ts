// Trace list filters: their state, how they live in the URL hash
// (`#/traces?tenant=acme&status=error&range=24h`), and the backend query they make.

import type { FacetQuery, Status, TraceQuery, TraceSort } from './types';

export type RangePreset = '1h' | '24h' | '7d' | '30d' | 'all' | 'custom';
export type StatusFilter = Status | '';

export interface TraceFilters {
  /** Free-text search as sent (trimmed). */
  search: string;
  range: RangePreset;
  /** Custom range, local days `YYYY-MM-DD`, both inclusive; '' when open. Used when range is custom. */
  since: string;
  until: string;
  tenant: string;
  endpoint: string;
  model: string;
  environment: string;
  status: StatusFilter;
  sort: TraceSort;
  /** First row of the page shown. */
  offset: number;
}

export const RANGE_PRESETS: readonly { value: RangePreset; label: string; ms: number | null }[] = [
  { value: '1h', label: 'Last hour', ms: 3_600_000 },
  { value: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { value: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
  { value: 'all', label: 'All time', ms: null },
  { value: 'custom', label: 'Custom range…', ms: null },
];

export const SORTS: readonly { value: TraceSort; label: string }[] = [
  { value: 'newest', label: 'Newest first' },
  { value: 'oldest', label: 'Oldest first' },
  { value: 'slowest', label: 'Slowest first' },
  { value: 'most_tokens', label: 'Most tokens' },
  { value: 'most_spans', label: 'Most spans' },
];

export const STATUS_FILTERS: readonly { value: StatusFilter; label: string }[] = [
  { value: '', label: 'Any status' },
  { value: 'ok', label: 'OK' },
  { value: 'error', label: 'Error' },
  { value: 'unset', label: 'Unset' },
];

/** The filters that pick among facet values, in display order. */
export const FACET_FILTERS = ['tenant', 'endpoint', 'model', 'environment'] as const;
export type FacetFilter = (typeof FACET_FILTERS)[number];

export const DEFAULT_FILTERS: Readonly<TraceFilters> = Object.freeze({
  search: '',
  range: 'all',
  since: '',
  until: '',
  tenant: '',
  endpoint: '',
  model: '',
  environment: '',
  status: '',
  sort: 'newest',
  offset: 0,
});

export function defaultFilters(): TraceFilters {
  return { ...DEFAULT_FILTERS };
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const [year, month, day] = value.split('-').map(Number) as [number, number, number];
  const date = new Date(year, month - 1, day);
  return date.getFullYear() === year && date.getMonth() === month - 1 && date.getDate() === day;
}

function oneOf<T extends string>(value: string | null, allowed: readonly { value: T }[]): T | null {
  return allowed.find((option) => option.value === value)?.value ?? null;
}

/** Reads filters from hash parameters; anything unknown or malformed is ignored. */
export function parseFilters(params: URLSearchParams): TraceFilters {
  const filters = defaultFilters();
  const text = (key: string) => params.get(key)?.trim() ?? '';

  filters.search = text('search');
  for (const key of FACET_FILTERS) filters[key] = text(key);
  filters.status = oneOf(text('status'), STATUS_FILTERS) ?? '';
  filters.sort = oneOf(text('sort'), SORTS) ?? 'newest';

  const since = text('since');
  const until = text('until');
  filters.since = isDate(since) ? since : '';
  filters.until = isDate(until) ? until : '';
  const range = oneOf(text('range'), RANGE_PRESETS);
  if (range !== null && range !== 'custom' && range !== 'all') {
    filters.range = range;
  } else if (range === 'custom' || filters.since !== '' || filters.until !== '') {
    filters.range = 'custom';
  }
  if (filters.range !== 'custom') {
    filters.since = '';
    filters.until = '';
  }

  const offset = Number(text('offset'));
  filters.offset = Number.isSafeInteger(offset) && offset > 0 ? offset : 0;
  return filters;
}

/** Hash parameters for filters, in a fixed order, leaving out defaults. */
export function filtersToParams(filters: TraceFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.search !== '') params.set('search', filters.search);
  if (filters.range !== 'all') params.set('range', filters.range);
  if (filters.range === 'custom') {
    if (filters.since !== '') params.set('since', filters.since);
    if (filters.until !== '') params.set('until', filters.until);
  }
  for (const key of FACET_FILTERS) {
    if (filters[key] !== '') params.set(key, filters[key]);
  }
  if (filters.status !== '') params.set('status', filters.status);
  if (filters.sort !== 'newest') params.set('sort', filters.sort);
  if (filters.offset > 0) params.set('offset', String(filters.offset));
  return params;
}

/** The trace list's hash for these filters: `#/traces` or `#/traces?…`. */
export function traceListHref(filters: TraceFilters): string {
  const query = filtersToParams(filters).toString();
  return query === '' ? '#/traces' : `#/traces?${query}`;
}

export function sameFilters(a: TraceFilters, b: TraceFilters): boolean {
  return filtersToParams(a).toString() === filtersToParams(b).toString();
}

/** Whether anything narrows the list (sort and page do not count). */
export function hasActiveFilters(filters: TraceFilters): boolean {
  return (
    filters.search !== '' ||
    filters.range !== 'all' ||
    filters.status !== '' ||
    FACET_FILTERS.some((key) => filters[key] !== '')
  );
}

/** Local midnight starting a `YYYY-MM-DD` day, `days` later, as RFC 3339 UTC. */
function localDayStart(day: string, days = 0): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(year, month - 1, date + days).toISOString();
}

/**
 * The time bounds of the range. Presets count back from `now`; custom days are
 * local days, `until` inclusive (the backend's `until` is exclusive, so it
 * gets the start of the next day).
 */
export function rangeBounds(filters: TraceFilters, now: Date): FacetQuery {
  const bounds: FacetQuery = {};
  if (filters.range === 'custom') {
    if (filters.since !== '') bounds.since = localDayStart(filters.since);
    if (filters.until !== '') bounds.until = localDayStart(filters.until, 1);
    return bounds;
  }
  const preset = RANGE_PRESETS.find((option) => option.value === filters.range);
  if (preset?.ms) bounds.since = new Date(now.getTime() - preset.ms).toISOString();
  return bounds;
}

/** The `traces_list` arguments for filters: only the keys that are set. */
export function buildTraceQuery(filters: TraceFilters, now: Date, limit: number): TraceQuery {
  const query: TraceQuery = { limit, offset: filters.offset };
  if (filters.search !== '') query.search = filters.search;
  Object.assign(query, rangeBounds(filters, now));
  for (const key of FACET_FILTERS) {
    if (filters[key] !== '') query[key] = filters[key];
  }
  if (filters.status !== '') query.status = filters.status;
  if (filters.sort !== 'newest') query.sort = filters.sort;
  return query;
}
