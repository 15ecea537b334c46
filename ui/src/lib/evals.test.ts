import { describe, expect, it } from 'vitest';
import {
  buildGrid,
  caseTags,
  cellOutcome,
  cellTestId,
  filterRows,
  formatGateValue,
  gateCondition,
  gridFiltersToParams,
  hasRepeats,
  keySourceLabel,
  parseGridFilters,
  progressFraction,
  type GridFilters,
} from './evals';
import { evalCase, result, runDetail } from '../test-fixtures';

function filters(overrides: Partial<GridFilters> = {}): GridFilters {
  return { outcome: 'all', tag: '', search: '', cell: null, ...overrides };
}

describe('buildGrid', () => {
  it('makes a row per case and a cell per prompt x provider, pending where nothing is stored', () => {
    const detail = runDetail({
      prompts: [
        { id: 'short', label: 'Short' },
        { id: 'long', label: 'Long' },
      ],
      providers: [{ id: 'p1', label: 'P1' }],
      cases: [evalCase(1), evalCase(0)],
      results: [result(0, 'long', 'p1', { outcome: 'fail', score: 0.25, output: 'nope' })],
    });

    const { columns, rows } = buildGrid(detail);

    expect(columns.map((column) => [column.promptLabel, column.providerLabel])).toEqual([
      ['Short', 'P1'],
      ['Long', 'P1'],
    ]);
    expect(rows.map((row) => row.case.index)).toEqual([0, 1]);
    expect(rows[0]?.cells.map((cell) => cell.outcome)).toEqual(['pending', 'fail']);
    expect(rows[0]?.cells[1]).toMatchObject({ score: 0.25, preview: 'nope', passes: 0 });
    expect(rows[1]?.cells.every((cell) => cell.results.length === 0 && cell.score === null)).toBe(true);
  });

  it('gathers repeats into one cell, in repeat order, with their pass count and mean score', () => {
    const detail = runDetail({
      results: [
        result(0, 'answer', 'gpt-4o-mini', { repeat_index: 1, outcome: 'fail', score: 0, output: 'second' }),
        result(0, 'answer', 'gpt-4o-mini', { repeat_index: 0, outcome: 'pass', score: 1, output: 'first' }),
        result(0, 'answer', 'gpt-4o-mini', { repeat_index: 2, outcome: 'pass', score: 1 }),
      ],
    });

    const cell = buildGrid(detail).rows[0]?.cells[0];

    expect(cell?.results.map((row) => row.repeat_index)).toEqual([0, 1, 2]);
    expect(cell?.passes).toBe(2);
    expect(cell?.score).toBeCloseTo(2 / 3);
    expect(cell?.preview).toBe('first');
    expect(cell?.outcome).toBe('fail');
    expect(hasRepeats(detail)).toBe(true);
    expect(hasRepeats(runDetail())).toBe(false);
  });

  it('previews the error of an errored result', () => {
    const detail = runDetail({
      results: [result(1, 'answer', 'claude-haiku', { outcome: 'error', output: null, error: 'HTTP 429' })],
    });
    expect(buildGrid(detail).rows[1]?.cells[1]).toMatchObject({ outcome: 'error', preview: 'HTTP 429' });
  });
});

describe('cellOutcome', () => {
  const of = (...outcomes: string[]) => cellOutcome(outcomes.map((outcome) => result(0, 'p', 'x', { outcome })));

  it('passes only when every repeat passed; failures outrank errors', () => {
    expect(of()).toBe('pending');
    expect(of('pass', 'pass')).toBe('pass');
    expect(of('pass', 'fail', 'error')).toBe('fail');
    expect(of('pass', 'error')).toBe('error');
  });
});

describe('filterRows', () => {
  const detail = runDetail({
    cases: [
      evalCase(0, { tags: ['smoke'], vars: { question: 'Where is my refund?' } }),
      evalCase(1, { tags: ['billing'], description: 'Invoice question' }),
      evalCase(2, { tags: ['smoke', 'billing'] }),
    ],
    results: [
      result(0, 'answer', 'gpt-4o-mini'),
      result(0, 'answer', 'claude-haiku', { outcome: 'fail', score: 0 }),
      result(1, 'answer', 'gpt-4o-mini', { outcome: 'error', output: null, error: 'timeout' }),
      result(1, 'answer', 'claude-haiku', { outcome: 'error', output: null, error: 'timeout' }),
      result(2, 'answer', 'gpt-4o-mini', { output: 'The PARCEL ships Monday' }),
    ],
  });
  const rows = buildGrid(detail).rows;
  const ids = (picked: ReturnType<typeof filterRows>) => picked.map((row) => row.case.id);

  it('keeps every row by default', () => {
    expect(ids(filterRows(rows, filters()))).toEqual(['case-0', 'case-1', 'case-2']);
  });

  it('picks failures, errors, and cases whose finished columns disagree', () => {
    expect(ids(filterRows(rows, filters({ outcome: 'failures' })))).toEqual(['case-0']);
    expect(ids(filterRows(rows, filters({ outcome: 'errors' })))).toEqual(['case-1']);
    // case-1 errs in both columns (no difference); case-2 has one pending column.
    expect(ids(filterRows(rows, filters({ outcome: 'differences' })))).toEqual(['case-0']);
  });

  it('picks by tag', () => {
    expect(ids(filterRows(rows, filters({ tag: 'billing' })))).toEqual(['case-1', 'case-2']);
  });

  it('searches case ids, descriptions, vars, outputs and errors, ignoring case', () => {
    expect(ids(filterRows(rows, filters({ search: 'refund' })))).toEqual(['case-0']);
    expect(ids(filterRows(rows, filters({ search: 'invoice' })))).toEqual(['case-1']);
    expect(ids(filterRows(rows, filters({ search: 'parcel' })))).toEqual(['case-2']);
    expect(ids(filterRows(rows, filters({ search: 'TIMEOUT' })))).toEqual(['case-1']);
    expect(ids(filterRows(rows, filters({ search: 'case-2' })))).toEqual(['case-2']);
    expect(ids(filterRows(rows, filters({ search: 'refund', tag: 'billing' })))).toEqual([]);
  });

  it('lists the tags of the cases once each, sorted', () => {
    expect(caseTags(detail.cases)).toEqual(['billing', 'smoke']);
  });
});

describe('grid filters in the hash', () => {
  it('round-trips every filter and the open cell', () => {
    const set = filters({
      outcome: 'differences',
      tag: 'smoke',
      search: 'refund policy',
      cell: { caseIndex: 3, promptId: 'answer', provider: 'openai:gpt-4o' },
    });
    const params = gridFiltersToParams(set);
    expect(params.toString()).toBe(
      'outcome=differences&tag=smoke&q=refund+policy&case=3&prompt=answer&provider=openai%3Agpt-4o',
    );
    expect(parseGridFilters(new URLSearchParams(params.toString()))).toEqual(set);
  });

  it('leaves out defaults and ignores malformed values', () => {
    expect(gridFiltersToParams(filters()).toString()).toBe('');
    expect(parseGridFilters(new URLSearchParams('outcome=bogus&case=-1&prompt=a&provider=b'))).toEqual(filters());
    expect(parseGridFilters(new URLSearchParams('case=2&prompt=a')).cell).toBeNull();
  });
});

describe('display helpers', () => {
  it('makes selector-safe cell test ids', () => {
    expect(cellTestId(4, 'answer.v2', 'openai:gpt-4o mini')).toBe('cell-4-answer_v2-openai_gpt-4o_mini');
  });

  it('formats gate values by what the gate measures', () => {
    const gate = (name: string) => ({ name, threshold: 0, actual: null, passed: true });
    expect(formatGateValue(gate('pass_rate'), 0.9)).toBe('90%');
    expect(formatGateValue(gate('mean_score'), 0.8512)).toBe('0.85');
    expect(formatGateValue(gate('metric:accuracy'), 0.5)).toBe('0.50');
    expect(formatGateValue(gate('max_errors'), 2)).toBe('2');
    expect(formatGateValue(gate('pass_rate'), null)).toBe('—');
    expect(gateCondition({ ...gate('pass_rate'), threshold: 0.95 })).toBe('≥ 95%');
    expect(gateCondition({ ...gate('max_errors'), threshold: 0 })).toBe('≤ 0');
  });

  it('names where a key comes from without showing it', () => {
    expect(keySourceLabel('keyring')).toBe('OS keyring');
    expect(keySourceLabel('env:OPENAI_API_KEY')).toBe('environment variable OPENAI_API_KEY');
    expect(keySourceLabel(null)).toBe('not set');
  });

  it('measures progress, staying within 0..1', () => {
    expect(progressFraction({ done: 1, total: 4 })).toBe(0.25);
    expect(progressFraction({ done: 0, total: 0 })).toBe(0);
    expect(progressFraction({ done: 5, total: 4 })).toBe(1);
  });
});
