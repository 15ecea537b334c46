// Builders for backend shapes in tests: complete objects, overridable per test.
import type { ImportReport, SpanView, TraceList, TraceSummary, WorkspaceInfo } from './lib/types';

export function workspace(overrides: Partial<WorkspaceInfo> = {}): WorkspaceInfo {
  return {
    name: 'assay-demo',
    root: '/home/dev/assay-demo',
    db_path: '/home/dev/assay-demo/.assay/assay.db',
    version: '0.1.0',
    trace_count: 0,
    span_count: 0,
    ...overrides,
  };
}

export function summary(id: string, overrides: Partial<TraceSummary> = {}): TraceSummary {
  return {
    trace_id: id,
    name: `trace ${id}`,
    service: 'checkout',
    start_time: '2026-11-27T04:16:30.123Z',
    duration_ms: 1250,
    span_count: 4,
    error_count: 0,
    status: 'ok',
    models: ['gpt-4o-mini'],
    input_tokens: 1200,
    output_tokens: 80,
    tenant: null,
    endpoint: null,
    environment: null,
    ...overrides,
  };
}

export function traceList(traces: TraceSummary[], total = traces.length, searchPending = 0): TraceList {
  return { traces, total, search_pending: searchPending };
}

export function span(id: string, depth: number, overrides: Partial<SpanView> = {}): SpanView {
  return {
    span_id: id,
    parent_span_id: null,
    depth,
    name: `span ${id}`,
    kind: 'chain',
    service: 'api',
    start_time: '2026-11-27T04:16:30.000Z',
    offset_ms: 0,
    duration_ms: 100,
    status: 'ok',
    status_message: null,
    error_class: null,
    provider: null,
    model: null,
    response_model: null,
    finish_reason: null,
    ttft_ms: null,
    input_tokens: null,
    output_tokens: null,
    usage: { input: null, output: null, cache_read: null, cache_write: null, reasoning: null },
    reported_cost: null,
    prompt_name: null,
    prompt_version: null,
    attribution: {
      tenant: null,
      endpoint: null,
      feature: null,
      user: null,
      session: null,
      environment: null,
      release: null,
    },
    tags: [],
    duplicate_of: null,
    input: null,
    output: null,
    input_messages: [],
    output_messages: [],
    documents: [],
    prompt_template: null,
    metadata: {},
    events: [],
    attributes: {},
    ...overrides,
  };
}

export function importReport(overrides: Partial<ImportReport> = {}): ImportReport {
  return {
    source: 'traces.json',
    format: 'otlp_json',
    compressed: false,
    traces: 3,
    spans_read: 12,
    spans_new: 10,
    spans_merged: 2,
    bytes: 4096,
    rejected: [],
    rejected_count: 0,
    ...overrides,
  };
}
