// Views derived from a trace's pre-ordered span list.

import type { SpanView, Status, TraceDetail } from './types';
import { traceExtentMs } from './waterfall';

export interface TraceHeader {
  name: string;
  startTime: string | null;
  durationMs: number;
  spanCount: number;
  errorCount: number;
  status: Status;
}

/** Header facts for the trace view, taken from the spans themselves. */
export function summarizeTrace(detail: TraceDetail): TraceHeader {
  const { spans } = detail;
  const root = spans.find((span) => span.depth === 0) ?? spans[0];
  let earliest: SpanView | undefined;
  for (const span of spans) {
    if (earliest === undefined || span.offset_ms < earliest.offset_ms) earliest = span;
  }
  const errorCount = spans.filter((span) => span.status === 'error').length;
  const anyOk = spans.some((span) => span.status === 'ok');
  return {
    name: root?.name ?? detail.trace_id,
    startTime: earliest?.start_time ?? null,
    durationMs: traceExtentMs(spans),
    spanCount: spans.length,
    errorCount,
    status: errorCount > 0 ? 'error' : anyOk ? 'ok' : 'unset',
  };
}

/** Ids of spans that have at least one child row directly after them. */
export function spansWithChildren(spans: readonly SpanView[]): Set<string> {
  const parents = new Set<string>();
  spans.forEach((span, index) => {
    const next = spans[index + 1];
    if (next !== undefined && next.depth > span.depth) parents.add(span.span_id);
  });
  return parents;
}

/**
 * Rows left after hiding the descendants of collapsed spans. Relies on
 * pre-order: a span's descendants are the rows right after it with a greater depth.
 */
export function visibleSpans(
  spans: readonly SpanView[],
  collapsed: ReadonlySet<string>,
): SpanView[] {
  const visible: SpanView[] = [];
  let hideDeeperThan: number | null = null;
  for (const span of spans) {
    if (hideDeeperThan !== null) {
      if (span.depth > hideDeeperThan) continue;
      hideDeeperThan = null;
    }
    visible.push(span);
    if (collapsed.has(span.span_id)) hideDeeperThan = span.depth;
  }
  return visible;
}
