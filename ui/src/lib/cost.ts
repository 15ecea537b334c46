// Cost screen state: how it lives in the URL hash
// (`#/cost?range=7d&tenant=acme&stack=model&per=month`), the backend queries it makes, and
// the way from a chart segment to the trace list.

import { defaultFilters, traceListHref } from './filters';
import { formatCost } from './format';
import type { CostChartArgs, CostDimension, CostPer, CostQuery } from './types';

export type CostRangePreset = '7d' | '30d' | '90d';
/** `auto` lets the backend pick (the last 30 days with data); `custom` uses since/until. */
export type CostRange = 'auto' | CostRangePreset | 'custom';
/** What the chart stacks by; '' draws one series. */
export type CostStack = CostDimension | '';

/** The dimensions the filters bar has a dropdown for, in display order. */
export const COST_FILTER_DIMENSIONS = ['tenant', 'endpoint', 'model', 'feature', 'environment'] as const;
/** Every dimension that can be filtered on (the top tables add `prompt`). */
export const COST_FILTERABLE = [...COST_FILTER_DIMENSIONS, 'prompt'] as const;
export type CostFilterDimension = (typeof COST_FILTERABLE)[number];

/** The "top" tables, in display order. */
export const COST_TOP_DIMENSIONS = ['endpoint', 'tenant', 'model', 'prompt'] as const;
/** Rows per top table (the rest are one "other" row). */
export const COST_TOP = 8;

export const COST_RANGE_PRESETS: readonly { value: CostRangePreset; days: number; label: string }[] = [
  { value: '7d', days: 7, label: 'Last 7 days' },
  { value: '30d', days: 30, label: 'Last 30 days' },
  { value: '90d', days: 90, label: 'Last 90 days' },
];

export const COST_PERS: readonly { value: CostPer; label: string }[] = [
  { value: 'day', label: 'Per day' },
  { value: 'hour', label: 'Per hour' },
  { value: 'month', label: 'Per month' },
];

export const DIMENSION_LABELS: Record<CostDimension, { one: string; many: string }> = {
  tenant: { one: 'Tenant', many: 'tenants' },
  endpoint: { one: 'Endpoint', many: 'endpoints' },
  model: { one: 'Model', many: 'models' },
  prompt: { one: 'Prompt', many: 'prompts' },
  prompt_version: { one: 'Prompt version', many: 'prompt versions' },
  feature: { one: 'Feature', many: 'features' },
  environment: { one: 'Environment', many: 'environments' },
  user: { one: 'User', many: 'users' },
};

/** What the chart can stack by (`user` is too fine-grained to stack). */
export const COST_STACKS: readonly { value: CostStack; label: string }[] = [
  ...(['tenant', 'endpoint', 'model', 'prompt', 'prompt_version', 'feature', 'environment'] as const).map(
    (value) => ({ value, label: DIMENSION_LABELS[value].one }),
  ),
  { value: '', label: 'Nothing (total)' },
];

/** The group of spans without a dimension's key, as the backend names it in rows. */
export const NONE = '(none)';
/** The row summing every group after the top N. */
export const OTHER = 'other';

export interface CostFilters {
  range: CostRange;
  /** Custom range, days `YYYY-MM-DD`, both inclusive; '' when open. */
  since: string;
  until: string;
  /** Dimension -> value; '' = any. NONE = spans without the key. */
  values: Record<CostFilterDimension, string>;
  stack: CostStack;
  per: CostPer;
}

export function defaultCostFilters(): CostFilters {
  return {
    range: 'auto',
    since: '',
    until: '',
    values: { tenant: '', endpoint: '', model: '', feature: '', environment: '', prompt: '' },
    stack: 'tenant',
    per: 'day',
  };
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isDay(value: string): boolean {
  const match = DATE.exec(value);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** A `YYYY-MM-DD` day moved by `days` (calendar arithmetic, no time zone involved). */
export function addDays(day: string, days: number): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, date + days)).toISOString().slice(0, 10);
}

/** Today as a local `YYYY-MM-DD` day. */
export function localDay(now: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Reads the screen's state from hash parameters; anything unknown or malformed is ignored. */
export function parseCostFilters(params: URLSearchParams): CostFilters {
  const filters = defaultCostFilters();
  const text = (key: string) => params.get(key)?.trim() ?? '';

  for (const key of COST_FILTERABLE) filters.values[key] = text(key);

  const since = text('since');
  const until = text('until');
  filters.since = isDay(since) ? since : '';
  filters.until = isDay(until) ? until : '';
  const preset = COST_RANGE_PRESETS.find((option) => option.value === text('range'));
  if (filters.since !== '' || filters.until !== '') {
    filters.range = 'custom';
  } else if (preset) {
    filters.range = preset.value;
  }

  const stack = text('stack');
  if (params.has('stack')) {
    const known = COST_STACKS.find((option) => option.value === stack);
    if (known) filters.stack = known.value;
  }
  const per = COST_PERS.find((option) => option.value === text('per'));
  if (per) filters.per = per.value;
  return filters;
}

/** Hash parameters for the state, in a fixed order, leaving out defaults. */
export function costFiltersToParams(filters: CostFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.range === 'custom') {
    if (filters.since !== '') params.set('since', filters.since);
    if (filters.until !== '') params.set('until', filters.until);
  } else if (filters.range !== 'auto') {
    params.set('range', filters.range);
  }
  for (const key of COST_FILTERABLE) {
    if (filters.values[key] !== '') params.set(key, filters.values[key]);
  }
  if (filters.stack !== 'tenant') params.set('stack', filters.stack);
  if (filters.per !== 'day') params.set('per', filters.per);
  return params;
}

/** The Cost screen's hash for this state: `#/cost` or `#/cost?…`. */
export function costHref(filters: CostFilters): string {
  const query = costFiltersToParams(filters).toString();
  return query === '' ? '#/cost' : `#/cost?${query}`;
}

export function sameCostFilters(a: CostFilters, b: CostFilters): boolean {
  return costFiltersToParams(a).toString() === costFiltersToParams(b).toString();
}

/** Whether a dimension filter is set. */
export function hasDimensionFilters(filters: CostFilters): boolean {
  return COST_FILTERABLE.some((key) => filters.values[key] !== '');
}

export interface CostRangeArgs {
  since?: string;
  until?: string;
}

/**
 * The range to ask for. `auto` sends nothing (the backend picks the last 30 days with data).
 * Presets end with today (local), inclusive. Days go to the backend as `YYYY-MM-DD`; its
 * `until` is exclusive, so the last day shown is followed by the next day.
 */
export function costRangeArgs(filters: CostFilters, now: Date): CostRangeArgs {
  if (filters.range === 'auto') return {};
  if (filters.range === 'custom') {
    const args: CostRangeArgs = {};
    if (filters.since !== '') args.since = filters.since;
    if (filters.until !== '') args.until = addDays(filters.until, 1);
    return args;
  }
  const preset = COST_RANGE_PRESETS.find((option) => option.value === filters.range);
  const today = localDay(now);
  return { since: addDays(today, -((preset?.days ?? 30) - 1)), until: addDays(today, 1) };
}

/** The dimension filters as the backend takes them (NONE becomes "", spans without the key). */
export function costFilterArgs(filters: CostFilters): Partial<Record<CostDimension, string>> {
  const args: Partial<Record<CostDimension, string>> = {};
  for (const key of COST_FILTERABLE) {
    const value = filters.values[key];
    if (value !== '') args[key] = value === NONE ? '' : value;
  }
  return args;
}

/** The `cost_breakdown` arguments for the screen's state and a resolved range. */
export function costQuery(
  filters: CostFilters,
  range: CostRangeArgs,
  extra: Pick<CostQuery, 'by' | 'top' | 'per'> = {},
): CostQuery {
  const query: CostQuery = { ...extra, ...range };
  const values = costFilterArgs(filters);
  if (Object.keys(values).length > 0) query.filters = values;
  return query;
}

/** The `cost_chart` arguments. */
export function costChartArgs(
  filters: CostFilters,
  range: CostRangeArgs,
  theme: 'light' | 'dark',
  width: number,
): CostChartArgs {
  const args: CostChartArgs = { per: filters.per, ...range, theme, width };
  if (filters.stack !== '') args.by = filters.stack;
  const values = costFilterArgs(filters);
  if (Object.keys(values).length > 0) args.filters = values;
  return args;
}

/** `2026-10-01 – 2026-10-30` for a resolved range (its `until` is exclusive). */
export function rangeLabel(since: string, until: string): string {
  const first = since.slice(0, 10);
  let last = until.slice(0, 10);
  // An end at midnight belongs to the day before.
  if (isDay(last) && /^T00:00(:00(\.0+)?)?(Z|[+-]00:?00)?$/.test(until.slice(10))) last = addDays(last, -1);
  if (!isDay(first) || !isDay(last)) return `${since} – ${until}`;
  return first === last ? first : `${first} – ${last}`;
}

/** Money in cost reports: "$1,234.50" (cents kept); small amounts as precise as formatCost. */
export function formatUsd(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd) || Math.abs(usd) < 1) return formatCost(usd);
  const text = Math.abs(usd).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return `${usd < 0 ? '-' : ''}$${text}`;
}

/** "+12.5%", "−8%" (a real minus sign), "0%"; "—" when there is nothing to compare. */
export function formatChange(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return '—';
  const rounded = Math.abs(pct) >= 10 ? Math.round(Math.abs(pct)) : Number(Math.abs(pct).toFixed(1));
  if (rounded === 0) return '0%';
  return `${pct > 0 ? '+' : '−'}${rounded}%`;
}

/** Which way a change went: for cost, up is the direction to watch. */
export function changeDirection(pct: number | null | undefined): 'up' | 'down' | 'flat' | 'none' {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return 'none';
  const text = formatChange(pct);
  if (text === '0%') return 'flat';
  return pct > 0 ? 'up' : 'down';
}

/** The days a chart period covers, both inclusive: a day, an hour's day, or a month. */
export function periodDays(period: string): { since: string; until: string } | null {
  const day = period.slice(0, 10);
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2})?)?$/.test(period) && isDay(day)) return { since: day, until: day };
  const month = /^(\d{4})-(\d{2})$/.exec(period);
  if (month && isDay(`${period}-01`)) {
    const first = `${period}-01`;
    const last = addDays(addDays(first, 32).slice(0, 8) + '01', -1);
    return { since: first, until: last };
  }
  return null;
}

/** The dimensions the trace list can filter on. */
const TRACE_FILTERS = ['tenant', 'endpoint', 'model', 'environment'] as const;
type TraceFilterKey = (typeof TRACE_FILTERS)[number];

function isTraceFilter(dimension: string): dimension is TraceFilterKey {
  return (TRACE_FILTERS as readonly string[]).includes(dimension);
}

/**
 * The trace list filtered to a chart segment: its period's days, the screen's filters the trace
 * list knows, and the segment's group when the stack dimension is one of them. The aggregate
 * "other" group and spans without the key cannot be expressed there and are left out.
 */
export function segmentTracesHref(filters: CostFilters, period: string, series: string | null): string {
  const traces = defaultFilters();
  const days = periodDays(period);
  if (days) {
    traces.range = 'custom';
    traces.since = days.since;
    traces.until = days.until;
  }
  for (const key of TRACE_FILTERS) {
    const value = filters.values[key];
    if (value !== '' && value !== NONE) traces[key] = value;
  }
  if (series !== null && series !== OTHER && series !== NONE && isTraceFilter(filters.stack)) {
    traces[filters.stack] = series;
  }
  return traceListHref(traces);
}

/**
 * Reads which segment a chart tooltip (`acme · 2026-10-03 · $12.34`, maybe with a second
 * `total …` line) names, matching against the chart's own series and periods so that a name
 * containing " · " is still found. A chart without stacking has one series.
 */
export function parseSegmentTitle(
  title: string,
  series: readonly string[],
  periods: readonly string[],
): { series: string; period: string } | null {
  const line = (title.split('\n')[0] ?? '').trim();
  const parts = line.split(' · ');
  if (parts.length < 3) return null;
  const period = parts[parts.length - 2] ?? '';
  const name = parts.slice(0, parts.length - 2).join(' · ');
  if (!periods.includes(period)) return null;
  if (series.length > 0 && !series.includes(name)) return null;
  return { series: name, period };
}
