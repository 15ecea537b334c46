// Shapes exchanged with the Assay backend. Field names match the wire format.

export interface WorkspaceInfo {
  root: string;
  db_path: string;
  version: string;
  trace_count: number;
  span_count: number;
}

export interface TraceQuery {
  limit?: number;
  offset?: number;
  search?: string;
}

export type Status = 'ok' | 'error' | 'unset';

export interface TraceSummary {
  trace_id: string;
  name: string;
  service: string | null;
  /** RFC 3339 UTC, e.g. 2026-11-27T04:16:30.123Z */
  start_time: string;
  duration_ms: number;
  span_count: number;
  error_count: number;
  status: Status;
  models: string[];
  input_tokens: number;
  output_tokens: number;
}

export interface TraceList {
  traces: TraceSummary[];
  total: number;
}

export type SpanKind =
  | 'llm'
  | 'chain'
  | 'agent'
  | 'tool'
  | 'retriever'
  | 'embedding'
  | 'reranker'
  | 'guardrail'
  | 'evaluator'
  | 'other';

export interface SpanView {
  span_id: string;
  parent_span_id: string | null;
  /** 0 for roots and for orphans whose parent is missing. */
  depth: number;
  name: string;
  kind: SpanKind;
  service: string | null;
  start_time: string;
  /** Milliseconds from the start of the trace. */
  offset_ms: number;
  duration_ms: number;
  status: Status;
  status_message: string | null;
  provider: string | null;
  /** Model named in the request. */
  model: string | null;
  /** Model the provider reported in its response. */
  response_model: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  input: string | null;
  output: string | null;
  attributes: Record<string, unknown>;
}

export interface TraceDetail {
  trace_id: string;
  /** Tree pre-order: parent before children, siblings by start time. */
  spans: SpanView[];
}

/** Body of every failed call, over HTTP and over Tauri IPC alike. */
export interface ApiErrorBody {
  code: string;
  message: string;
}
