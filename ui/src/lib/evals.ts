// What the eval screens show, derived from the backend's shapes. Pure functions, no DOM.
// The run grid has a row per case and a column per prompt x provider; its filters live
// in the URL hash (`#/evals/run/ID?outcome=failures&tag=smoke&q=refund`).

import type {
  EvalCaseInfo,
  EvalColumn,
  EvalGateResult,
  EvalProgress,
  EvalResultRow,
  EvalRunDetail,
} from './types';

export type CellOutcome = 'pass' | 'fail' | 'error' | 'pending';

export interface GridColumn {
  /** Unique within the run: `prompt\u0000provider`. */
  key: string;
  promptId: string;
  provider: string;
  promptLabel: string;
  providerLabel: string;
}

export interface GridCell {
  caseIndex: number;
  column: GridColumn;
  /** Every repeat, in repeat order. */
  results: EvalResultRow[];
  /** `pending` while nothing is stored for it yet. */
  outcome: CellOutcome;
  passes: number;
  /** Mean score over the repeats (null when pending). */
  score: number | null;
  /** The first repeat's output (or error). */
  preview: string;
}

export interface GridRow {
  case: EvalCaseInfo;
  cells: GridCell[];
}

export function columnKey(promptId: string, provider: string): string {
  return `${promptId}\u0000${provider}`;
}

/** Columns: every prompt with every provider, prompt-major. */
export function gridColumns(prompts: EvalColumn[], providers: EvalColumn[]): GridColumn[] {
  const columns: GridColumn[] = [];
  for (const prompt of prompts) {
    for (const provider of providers) {
      columns.push({
        key: columnKey(prompt.id, provider.id),
        promptId: prompt.id,
        provider: provider.id,
        promptLabel: prompt.label,
        providerLabel: provider.label,
      });
    }
  }
  return columns;
}

/**
 * A cell's outcome over its repeats: pass only when every repeat passed; a failed repeat
 * makes it a failure; otherwise an errored repeat makes it an error.
 */
export function cellOutcome(results: EvalResultRow[]): CellOutcome {
  if (results.length === 0) return 'pending';
  if (results.every((result) => result.outcome === 'pass')) return 'pass';
  if (results.some((result) => result.outcome === 'fail')) return 'fail';
  return 'error';
}

/** The grid of a run: every case, with a cell per column (pending cells included). */
export function buildGrid(detail: EvalRunDetail): { columns: GridColumn[]; rows: GridRow[] } {
  const columns = gridColumns(detail.prompts, detail.providers);
  const byCell = new Map<string, EvalResultRow[]>();
  for (const result of detail.results) {
    const key = `${result.case_index}\u0000${columnKey(result.prompt_id, result.provider)}`;
    const list = byCell.get(key);
    if (list) list.push(result);
    else byCell.set(key, [result]);
  }
  const cases = [...detail.cases].sort((a, b) => a.index - b.index);
  const rows = cases.map((testCase) => ({
    case: testCase,
    cells: columns.map((column) => {
      const results = (byCell.get(`${testCase.index}\u0000${column.key}`) ?? []).sort(
        (a, b) => a.repeat_index - b.repeat_index,
      );
      const first = results[0];
      return {
        caseIndex: testCase.index,
        column,
        results,
        outcome: cellOutcome(results),
        passes: results.filter((result) => result.outcome === 'pass').length,
        score: results.length === 0 ? null : results.reduce((sum, result) => sum + result.score, 0) / results.length,
        preview: first ? (first.output ?? first.error ?? '') : '',
      };
    }),
  }));
  return { columns, rows };
}

/** Whether the run was repeated (some cell holds more than one result). */
export function hasRepeats(detail: EvalRunDetail): boolean {
  return detail.results.some((result) => result.repeat_index > 0);
}

// ---------------------------------------------------------------------------
// Grid filters.

export type OutcomeFilter = 'all' | 'failures' | 'errors' | 'differences';

export const OUTCOME_FILTERS: readonly { value: OutcomeFilter; label: string }[] = [
  { value: 'all', label: 'All cases' },
  { value: 'failures', label: 'Failures' },
  { value: 'errors', label: 'Errors' },
  { value: 'differences', label: 'Differences between columns' },
];

export interface GridFilters {
  outcome: OutcomeFilter;
  /** A case tag; '' for any. */
  tag: string;
  /** Free text over case id, description, vars and outputs (trimmed). */
  search: string;
  /** The open cell, `CASEINDEX` + prompt + provider; null when none is open. */
  cell: CellRef | null;
}

export interface CellRef {
  caseIndex: number;
  promptId: string;
  provider: string;
}

export function defaultGridFilters(): GridFilters {
  return { outcome: 'all', tag: '', search: '', cell: null };
}

/** Reads grid filters from hash parameters; anything unknown or malformed is ignored. */
export function parseGridFilters(params: URLSearchParams): GridFilters {
  const filters = defaultGridFilters();
  const outcome = params.get('outcome');
  filters.outcome = OUTCOME_FILTERS.find((option) => option.value === outcome)?.value ?? 'all';
  filters.tag = params.get('tag')?.trim() ?? '';
  filters.search = params.get('q')?.trim() ?? '';
  const caseIndex = Number(params.get('case'));
  const promptId = params.get('prompt');
  const provider = params.get('provider');
  if (params.has('case') && Number.isSafeInteger(caseIndex) && caseIndex >= 0 && promptId && provider) {
    filters.cell = { caseIndex, promptId, provider };
  }
  return filters;
}

/** Hash parameters for grid filters, in a fixed order, leaving out defaults. */
export function gridFiltersToParams(filters: GridFilters): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.outcome !== 'all') params.set('outcome', filters.outcome);
  if (filters.tag !== '') params.set('tag', filters.tag);
  if (filters.search !== '') params.set('q', filters.search);
  if (filters.cell) {
    params.set('case', String(filters.cell.caseIndex));
    params.set('prompt', filters.cell.promptId);
    params.set('provider', filters.cell.provider);
  }
  return params;
}

function stringifyValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function rowText(row: GridRow): string {
  const parts = [row.case.id, row.case.description ?? ''];
  for (const [key, value] of Object.entries(row.case.vars)) parts.push(key, stringifyValue(value));
  for (const cell of row.cells) {
    for (const result of cell.results) parts.push(result.output ?? '', result.error ?? '');
  }
  return parts.join('\n').toLowerCase();
}

function matchesOutcome(row: GridRow, outcome: OutcomeFilter): boolean {
  switch (outcome) {
    case 'all':
      return true;
    case 'failures':
      return row.cells.some((cell) => cell.outcome === 'fail');
    case 'errors':
      return row.cells.some((cell) => cell.outcome === 'error');
    case 'differences': {
      // Pending cells say nothing yet; a case differs when finished columns disagree.
      const seen = new Set(row.cells.filter((cell) => cell.outcome !== 'pending').map((cell) => cell.outcome));
      return seen.size > 1;
    }
  }
}

/** The rows that pass every filter. */
export function filterRows(rows: GridRow[], filters: GridFilters): GridRow[] {
  const needle = filters.search.toLowerCase();
  return rows.filter(
    (row) =>
      matchesOutcome(row, filters.outcome) &&
      (filters.tag === '' || row.case.tags.includes(filters.tag)) &&
      (needle === '' || rowText(row).includes(needle)),
  );
}

/** Every tag the cases carry, sorted. */
export function caseTags(cases: EvalCaseInfo[]): string[] {
  return [...new Set(cases.flatMap((testCase) => testCase.tags))].sort((a, b) => a.localeCompare(b));
}

/** A stable, selector-safe piece of a test id. */
export function testIdPart(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** `cell-CASEINDEX-PROMPTID-PROVIDER`, with ids made selector-safe. */
export function cellTestId(caseIndex: number, promptId: string, provider: string): string {
  return `cell-${caseIndex}-${testIdPart(promptId)}-${testIdPart(provider)}`;
}

// ---------------------------------------------------------------------------
// Summary and gates.

/** "90%", "87.5%"; a placeholder for null. */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  return `${Number((rate * 100).toFixed(1))}%`;
}

/** A 0..1 score as "0.85". */
export function formatScore(score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return '—';
  return score.toFixed(2);
}

/** How a gate's value reads: error counts are counts, pass rates percentages, others scores. */
export function formatGateValue(gate: EvalGateResult, value: number | null): string {
  if (value === null) return '—';
  if (gate.name === 'max_errors') return String(Math.round(value));
  if (gate.name === 'pass_rate') return formatRate(value);
  return formatScore(value);
}

/** The gate's condition: "≥ 90%", or "≤ 2" for an error budget. */
export function gateCondition(gate: EvalGateResult): string {
  return `${gate.name === 'max_errors' ? '≤' : '≥'} ${formatGateValue(gate, gate.threshold)}`;
}

/** First characters of a commit id. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 8);
}

/** Whether a run or progress report is still going. */
export function isRunning(status: string): boolean {
  return status === 'running';
}

/** Finished share of a run's results, 0..1. */
export function progressFraction(progress: Pick<EvalProgress, 'done' | 'total'>): number {
  if (progress.total <= 0) return 0;
  return Math.min(1, Math.max(0, progress.done / progress.total));
}

export const RUN_STATUS_LABELS: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  interrupted: 'Interrupted',
  failed: 'Failed',
};

export function runStatusLabel(status: string): string {
  return RUN_STATUS_LABELS[status] ?? status;
}

/** Icons that carry an outcome's meaning beside its colour. */
export const OUTCOME_TEXT: Record<CellOutcome, { icon: string; label: string }> = {
  pass: { icon: '✓', label: 'Pass' },
  fail: { icon: '✗', label: 'Fail' },
  error: { icon: '⚠', label: 'Error' },
  pending: { icon: '…', label: 'Pending' },
};

export function outcomeOf(value: string): CellOutcome {
  return value === 'pass' || value === 'fail' || value === 'error' ? value : 'pending';
}

// ---------------------------------------------------------------------------
// Provider keys.

/** Where a key comes from, for people: "OS keyring", "environment variable OPENAI_API_KEY", "not set". */
export function keySourceLabel(source: string | null): string {
  if (source === null || source === '') return 'not set';
  if (source === 'keyring') return 'OS keyring';
  if (source.startsWith('env:')) return `environment variable ${source.slice(4)}`;
  return source;
}

export const PROVIDER_LABELS: Record<string, string> = {
  openai: 'OpenAI',
  anthropic: 'Anthropic',
  gemini: 'Google Gemini',
  azure: 'Azure OpenAI',
  openrouter: 'OpenRouter',
};
