import { describe, expect, it } from 'vitest';
import { spansWithChildren, summarizeTrace, visibleSpans } from './trace';
import type { SpanView } from './types';
import { span as baseSpan } from '../test-fixtures';

function span(id: string, depth: number, overrides: Partial<SpanView> = {}): SpanView {
  return baseSpan(id, depth, { kind: 'other', service: null, duration_ms: 1, status: 'unset', ...overrides });
}

// root
//   a
//     a1
//   b
// orphan
const tree = [span('root', 0), span('a', 1), span('a1', 2), span('b', 1), span('orphan', 0)];
const ids = (spans: SpanView[]) => spans.map((s) => s.span_id);

describe('visibleSpans', () => {
  it('shows every span when nothing is collapsed', () => {
    expect(ids(visibleSpans(tree, new Set()))).toEqual(['root', 'a', 'a1', 'b', 'orphan']);
  });

  it('hides the descendants of a collapsed span only', () => {
    expect(ids(visibleSpans(tree, new Set(['a'])))).toEqual(['root', 'a', 'b', 'orphan']);
    expect(ids(visibleSpans(tree, new Set(['root'])))).toEqual(['root', 'orphan']);
  });

  it('ignores collapsed spans that are already hidden', () => {
    expect(ids(visibleSpans(tree, new Set(['root', 'a'])))).toEqual(['root', 'orphan']);
  });
});

describe('spansWithChildren', () => {
  it('marks spans followed by deeper rows', () => {
    expect([...spansWithChildren(tree)].sort()).toEqual(['a', 'root']);
  });
});

describe('summarizeTrace', () => {
  it('takes the name from the root and timing from the spans', () => {
    const spans = [
      span('root', 0, { name: 'chat', offset_ms: 0, duration_ms: 900, start_time: 'T0', status: 'ok' }),
      span('llm', 1, { offset_ms: 100, duration_ms: 1200, status: 'error' }),
    ];
    expect(summarizeTrace({ trace_id: 't', spans })).toEqual({
      name: 'chat',
      startTime: 'T0',
      durationMs: 1300,
      spanCount: 2,
      errorCount: 1,
      status: 'error',
    });
  });

  it('falls back to the trace id when there are no spans', () => {
    const header = summarizeTrace({ trace_id: 'abc', spans: [] });
    expect(header.name).toBe('abc');
    expect(header.startTime).toBeNull();
    expect(header.durationMs).toBe(0);
    expect(header.status).toBe('unset');
  });
});
