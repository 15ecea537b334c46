// Shapes exchanged with the Assay backend. Field names match the wire format.
// Source of truth: crates/assay/src/api/json.rs (and the model types it re-exports).
// `T | null` is a Rust `Option<T>` that is always serialized; `key?: T` is one that
// the backend leaves out when it is empty.

/** `workspace_info` result. */
export interface WorkspaceInfo {
  /** The workspace's display name. */
  name: string;
  /** The workspace folder (empty when only a database was given). */
  root: string;
  db_path: string;
  version: string;
  trace_count: number;
  span_count: number;
}

export type Status = 'ok' | 'error' | 'unset';

export type TraceSort = 'newest' | 'oldest' | 'slowest' | 'most_tokens' | 'most_spans';

/**
 * `traces_list` arguments. Every key is optional and the backend rejects unknown
 * ones, so leave out what is not set.
 */
export interface TraceQuery {
  /** Page size (default 50, at most 1000). */
  limit?: number;
  /** Rows to skip. */
  offset?: number;
  /** Free text over ids, names, services, models and (full-text) span input and output. */
  search?: string;
  /** Traces that started at or after this time: RFC 3339, or a date `YYYY-MM-DD` (UTC). */
  since?: string;
  /** Traces that started before this time: RFC 3339, or a date (the start of that UTC day). */
  until?: string;
  tenant?: string;
  endpoint?: string;
  /** A model (requested or responding) used anywhere in the trace. */
  model?: string;
  status?: Status;
  environment?: string;
  /** Default `newest`. */
  sort?: TraceSort;
}

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
  /** Input tokens over all spans (duplicate records of one call counted once). */
  input_tokens: number;
  output_tokens: number;
  tenant: string | null;
  endpoint: string | null;
  environment: string | null;
}

export interface TraceList {
  traces: TraceSummary[];
  /** Traces matching the query, over all pages. */
  total: number;
  /** Spans whose text is not yet in the full-text index (0 when no search was given). */
  search_pending: number;
}

/** `trace_facets` arguments: the time range the facets cover. */
export interface FacetQuery {
  since?: string;
  until?: string;
}

/** One value of a facet and how many traces have it. */
export interface Facet {
  value: string;
  count: number;
}

/** The values the trace filters can take, most frequent first (at most 200 each). */
export interface TraceFacets {
  tenants: Facet[];
  endpoints: Facet[];
  models: Facet[];
  environments: Facet[];
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

/** Which part of the system failed. */
export type ErrorClass = 'model' | 'tool' | 'infrastructure';

/** Token counts by usage key; each token is counted under exactly one key. */
export interface Usage {
  /** Input (prompt) tokens as reported, cached ones included. */
  input: number | null;
  output: number | null;
  /** Input tokens read from a prompt cache (part of `input`). */
  cache_read: number | null;
  /** Input tokens written to a prompt cache (part of `input`). */
  cache_write: number | null;
  /** Reasoning tokens (part of `output` on most providers). */
  reasoning: number | null;
}

export interface Attribution {
  tenant: string | null;
  endpoint: string | null;
  feature: string | null;
  user: string | null;
  session: string | null;
  environment: string | null;
  release: string | null;
}

/** A tool (function) call requested by a model. */
export interface ToolCall {
  id?: string;
  name: string;
  /** The arguments, as JSON text. */
  arguments?: string;
}

/** A chat message, in or out of a model call. */
export interface Message {
  /** `system`, `user`, `assistant`, `tool`, ... */
  role: string;
  content?: string;
  tool_calls?: ToolCall[];
  /** For a tool result: the call it answers. */
  tool_call_id?: string;
}

/** A document returned by a retriever (or reranker). */
export interface Document {
  id?: string;
  content?: string;
  score?: number;
}

/** The template a prompt was rendered from. */
export interface PromptTemplate {
  template?: string;
  variables?: Record<string, unknown>;
}

/** A span event, with its offset from the span's start. */
export interface EventView {
  name: string;
  offset_ms: number;
  attributes: Record<string, unknown>;
}

export interface SpanView {
  span_id: string;
  /** Parent span id as recorded (it may not be stored yet). */
  parent_span_id: string | null;
  /** 0 for roots and for orphans whose parent is missing. */
  depth: number;
  name: string;
  kind: SpanKind;
  service: string | null;
  start_time: string;
  /** Milliseconds from the start of the trace. */
  offset_ms: number;
  /** 0 while the span is open. */
  duration_ms: number;
  status: Status;
  status_message: string | null;
  /** For failures: which part of the system failed. */
  error_class: ErrorClass | null;
  provider: string | null;
  /** Model named in the request. */
  model: string | null;
  /** Model the provider reported in its response. */
  response_model: string | null;
  /** Why the model stopped (`stop`, `length`, `tool_calls`, `content_filter`, ...). */
  finish_reason: string | null;
  /** Time to first token of a streamed response. */
  ttft_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  usage: Usage;
  /** Cost the source reported, in USD. */
  reported_cost: number | null;
  /** Cost computed from the price catalogue, in USD. */
  cost: number | null;
  /** The call used tokens but no price covers its model. */
  unpriced: boolean;
  prompt_name: string | null;
  prompt_version: string | null;
  attribution: Attribution;
  tags: string[];
  /** This span records the same model call as that span; its tokens are not counted again. */
  duplicate_of: string | null;
  input: string | null;
  output: string | null;
  input_messages: Message[];
  output_messages: Message[];
  documents: Document[];
  prompt_template: PromptTemplate | null;
  metadata: Record<string, unknown>;
  events: EventView[];
  /** All attributes as recorded (resource attributes prefixed `resource.`). */
  attributes: Record<string, unknown>;
}

export interface TraceDetail {
  trace_id: string;
  /** Tree pre-order: parent before children, siblings by start time. */
  spans: SpanView[];
}

/** The formats Assay reads (`ImportReport.format`, and the `x-assay-format` override). */
export type ImportFormat =
  | 'otlp_json'
  | 'otlp_jsonl'
  | 'otlp_proto'
  | 'otlp_proto_stream'
  | 'otlp_logs_json'
  | 'otlp_logs_proto'
  | 'langfuse_json'
  | 'langfuse_jsonl'
  | 'langfuse_csv'
  | 'langsmith_json'
  | 'langsmith_jsonl'
  | 'promptfoo_json'
  | 'request_log_jsonl';

/** A record that could not be imported. */
export interface Rejection {
  /** Where in the input: a line, a byte offset, and/or a path into the document. */
  location: string;
  /** The offending field, when one is to blame. */
  field: string | null;
  message: string;
}

/** What importing one file did. */
export interface ImportReport {
  source: string;
  format: ImportFormat;
  /** Whether it was gzip-compressed. */
  compressed: boolean;
  /** Distinct traces the input touched. */
  traces: number;
  spans_read: number;
  spans_new: number;
  /** Spans already stored, merged with what the input said. */
  spans_merged: number;
  /** Of the spans already stored, those the input changed nothing in (left as they are). */
  spans_unchanged: number;
  /** Bytes read (after decompression). */
  bytes: number;
  /** The first rejected records (at most 1,000). */
  rejected: Rejection[];
  /** How many records were rejected in all. */
  rejected_count: number;
}

/** A file that could not be imported (and changed nothing). */
export interface ImportFailure {
  source: string;
  error: ApiErrorBody;
}

/** `import_paths` and `import_upload` result. */
export interface ImportOutcome {
  imported: ImportReport[];
  failed: ImportFailure[];
}

/** `import_progress` result: how far an upload's import has got (updated per written batch). */
export interface ImportProgress {
  /** Bytes of content read (after decompression: a gzipped file reads more than its size). */
  bytes: number;
  /** Spans parsed. */
  spans: number;
}

/** `import_paths` arguments: files or folders (folders are read recursively). */
export interface ImportArgs {
  paths: string[];
}

/** Body of every failed call, over HTTP and over Tauri IPC alike. */
export interface ApiErrorBody {
  code: string;
  message: string;
}

// ---- Evaluations ----------------------------------------------------------------------

/** `eval_sets` result item: an eval set found in the workspace. */
export interface EvalSetInfo {
  /** Its name (the folder under `evalsets/`). */
  name: string;
  /** Its `evalset.yaml`, relative to the workspace root. */
  path: string;
  description: string | null;
  /** Prompt ids. */
  prompts: string[];
  /** Provider labels. */
  providers: string[];
  /** Number of cases. */
  cases: number;
  /** A cassette of recorded responses exists: it can run offline with `replay`. */
  has_cassette: boolean;
  /** Set when the eval set cannot be loaded: what is wrong. */
  error: ApiErrorBody | null;
  last_run: EvalRunBrief | null;
}

/** `running`, `completed` or `interrupted` (and `failed` in progress reports). */
export type EvalRunStatus = 'running' | 'completed' | 'interrupted' | 'failed';

/** A run in the runs list. */
export interface EvalRunBrief {
  /** Run id (a UUID). */
  id: string;
  evalset: string;
  /** One of EvalRunStatus; unknown values are shown as they are. */
  status: string;
  /** RFC 3339. */
  started_at: string;
  finished_at: string | null;
  /** Wall time, when finished. */
  duration_ms: number | null;
  /** Results the plan calls for. */
  planned: number;
  /** Results stored. */
  done: number;
  pass: number;
  fail: number;
  error: number;
  /** pass / (pass + fail), when anything was graded. */
  pass_rate: number | null;
  /** USD of the calls made (cached results cost nothing). */
  cost: number;
  git_commit: string | null;
  /** Whether the working tree had uncommitted changes. */
  git_dirty: boolean | null;
  /** Whether every gate passed (finished runs only). */
  gates_passed: boolean | null;
  /** Hash of exactly what was evaluated. */
  content_hash: string;
}

/** `eval_runs` arguments; leave out what is not set. */
export interface EvalRunsQuery {
  evalset?: string;
  /** Default 100. */
  limit?: number;
}

/** `eval_run_get`, `eval_progress` and `eval_cancel` arguments. */
export interface EvalRunRef {
  run_id: string;
}

/** A prompt or provider column of a run. */
export interface EvalColumn {
  /** Prompt id or provider label. */
  id: string;
  label: string;
}

/** A case row of a run. */
export interface EvalCaseInfo {
  /** Position in the eval set. */
  index: number;
  /** Stable id. */
  id: string;
  description: string | null;
  tags: string[];
  vars: Record<string, unknown>;
  /** Where it is defined. */
  location: string;
}

/** The outcome of one assertion. */
export interface AssertionResult {
  /** The type as written (`not-contains`). */
  kind: string;
  /** After negation. */
  pass: boolean;
  /** 0..1, after negation. */
  score: number;
  /** What was expected and what was found, or the judge's reasoning. */
  reason: string;
  /** Weight in the case's score. */
  weight: number;
  metric?: string;
  /** Assay does not support its type: neither pass nor fail. */
  unsupported?: boolean;
  /** Evaluating it failed: the result is an error, not a failure. */
  error?: boolean;
}

export type EvalOutcome = 'pass' | 'fail' | 'error';

/** One result: a case x prompt x provider x repeat. */
export interface EvalResultRow {
  case_index: number;
  case_id: string;
  prompt_id: string;
  /** Provider label. */
  provider: string;
  /** 0-based. */
  repeat_index: number;
  /** One of EvalOutcome. */
  outcome: string;
  /** Weighted score 0..1. */
  score: number;
  output: string | null;
  /** The error, for errored results. */
  error: string | null;
  latency_ms: number | null;
  ttft_ms: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  /** USD, when prices are known. */
  cost: number | null;
  /** Came from the cache or a cassette (no provider call). */
  cached: boolean;
  assertions: AssertionResult[];
  /** The rendered messages sent. */
  rendered: Message[];
  /** The trace recording the provider call. */
  trace_id: string | null;
}

/** Results of one prompt x provider pair. */
export interface EvalSummaryRow {
  prompt_id: string;
  provider: string;
  total: number;
  pass: number;
  fail: number;
  error: number;
  pass_rate: number | null;
  /** Weighted mean score of graded results. */
  mean_score: number | null;
  cost: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  /** Results served from the cache or a cassette. */
  cached: number;
}

/** A named metric's mean over a run. */
export interface EvalMetric {
  name: string;
  mean: number;
  /** Assertions aggregated. */
  count: number;
}

/** A gate's verdict. */
export interface EvalGateResult {
  /** `pass_rate`, `mean_score`, `metric:NAME` or `max_errors`. */
  name: string;
  threshold: number;
  /** What the run reached (null when nothing was graded). */
  actual: number | null;
  passed: boolean;
}

/** A repeated case's pass count. */
export interface EvalRepeatCount {
  case_id: string;
  prompt_id: string;
  provider: string;
  passes: number;
  runs: number;
}

/** What the config asked for that Assay does not support. */
export interface Unsupported {
  /** By name (`assertion type javascript`, `scenarios`). */
  what: string;
  /** Where (`promptfooconfig.yaml: tests[5].assert[0]`). */
  location: string;
}

/** A run's summary: per prompt x provider, metrics and gates. */
export interface EvalSummary {
  run: EvalRunBrief;
  rows: EvalSummaryRow[];
  metrics: EvalMetric[];
  gates: EvalGateResult[];
  /** Every gate passed and the run completed. */
  passed: boolean;
  unsupported: Unsupported[];
  /** Per-case pass counts, when cases were repeated. */
  repeats: EvalRepeatCount[];
}

/** `eval_run_get` result: a run with its grid. */
export interface EvalRunDetail {
  summary: EvalSummary;
  /** Of the eval set. */
  description: string | null;
  prompts: EvalColumn[];
  providers: EvalColumn[];
  cases: EvalCaseInfo[];
  /** Results stored so far. */
  results: EvalResultRow[];
}

/** `eval_start` arguments: start a run in the background. Leave out what is not set. */
export interface EvalStart {
  /** Eval set name, folder or config file. */
  target: string;
  /** Only these providers (labels or ids). */
  providers?: string[];
  /** Only cases whose id, description or tag matches. */
  filter?: string;
  /** Repeats per case. */
  repeat?: number;
  /** Calls in flight per provider. */
  concurrency?: number;
  /** Bypass the response cache. */
  no_cache?: boolean;
  /** Answer from the eval set's cassette of recorded responses (offline). */
  replay?: boolean;
}

/** A run's live progress. */
export interface EvalProgress {
  run_id: string;
  /** One of EvalRunStatus; unknown values are shown as they are. */
  status: string;
  /** Results finished. */
  done: number;
  /** Results planned. */
  total: number;
  pass: number;
  fail: number;
  error: number;
  /** USD so far. */
  cost: number;
  /** Served from the cache or cassette so far. */
  cached: number;
  /** When `failed`: why. */
  message: string | null;
}

/** `keys_status` result item: where a provider's API key would come from. Never the key. */
export interface KeyStatus {
  /** `openai`, `anthropic`, `gemini`, `azure`, `openrouter`. */
  provider: string;
  /** `keyring`, `env:NAME`, or null when no key is configured. */
  source: string | null;
}

/** `keys_set` arguments. */
export interface KeySet {
  provider: string;
  /** Stored in the OS keyring only. */
  key: string;
}

/** `keys_delete` arguments. */
export interface KeyRef {
  provider: string;
}

// ---- Git: prompt and eval-set history, diffs ----------------------------------------------

/** `workspace_files` result item: a file under `prompts/` or `evalsets/`. */
export interface WorkspaceFile {
  /** Relative to the workspace root (`prompts/triage.yaml`). */
  path: string;
  /** `prompt`, `evalset`, `cases`, `cassette` or `other`. */
  kind: string;
  /** Has uncommitted changes (or is untracked). */
  modified: boolean;
}

/** `workspace_files` result. */
export interface WorkspaceFiles {
  is_git: boolean;
  /** The current branch, when on one. */
  branch: string | null;
  /** Sorted by path. */
  files: WorkspaceFile[];
}

/** A git commit. */
export interface CommitView {
  sha: string;
  /** Abbreviated sha. */
  short: string;
  author: string;
  /** Author time, RFC 3339. */
  time: string;
  /** First line of the message. */
  summary: string;
}

/** `file_get` arguments. */
export interface FileRef {
  path: string;
  /** A git ref (`HEAD`, a sha, a branch); left out for the working tree. */
  rev?: string;
}

/** `file_get` result. */
export interface FileContent {
  path: string;
  /** The ref it was read at (null = working tree). */
  rev: string | null;
  /** Null when the file does not exist there. */
  content: string | null;
}

/** `file_history` result item: a version of a file, newest first. */
export interface FileVersionView {
  /** Null for the uncommitted working-tree version. */
  commit: CommitView | null;
  /** Blob id, or `worktree` for uncommitted changes. */
  id: string;
}

/** `file_diff` arguments; a side left null is the working tree. */
export interface FileDiffArgs {
  path: string;
  from: string | null;
  to: string | null;
}

/** One line of a line diff. */
export interface DiffLine {
  kind: 'equal' | 'insert' | 'delete';
  old_no: number | null;
  new_no: number | null;
  /** Without its newline. */
  text: string;
}

/** `file_diff` result. */
export interface FileDiff {
  path: string;
  /** Unified diff text (empty when equal). */
  unified: string;
  lines: DiffLine[];
}

/** `file_save` arguments; with `commit_message` the file is committed too. */
export interface FileSave {
  path: string;
  content: string;
  commit_message?: string;
}

/** `prompt_render` arguments. */
export interface PromptRender {
  evalset: string;
  prompt_id: string;
  /** Default: the first case. */
  case_id?: string;
}

/** `prompt_render` result. */
export interface RenderedPrompt {
  /** The case used. */
  case_id: string;
  vars: Record<string, unknown>;
  messages: Message[];
}

/** `git_refs` result: what the diff view can compare. */
export interface GitRefs {
  is_git: boolean;
  branches: string[];
  tags: string[];
  /** Recent commits of HEAD, newest first. */
  commits: CommitView[];
  /** Prompts or eval sets have uncommitted changes. */
  dirty: boolean;
}

/** Thresholds of an eval diff; each one set is checked. */
export interface DiffGates {
  /** Fail on a consistent regression or a significant overall one. */
  no_regressions: boolean;
  max_pass_rate_drop_pp?: number | null;
  max_cost_increase_pct?: number | null;
  max_latency_increase_pct?: number | null;
}

/** The ref meaning "the working tree as it is". */
export const WORKTREE = 'WORKTREE';

/** `eval_diff` arguments. */
export interface EvalDiffArgs {
  evalset: string;
  /** Branch, tag, sha or `HEAD~1`. */
  base: string;
  /** A ref, or `WORKTREE`. */
  head: string;
  /** Repeats per case; left out for one. */
  repeat?: number;
  /** Answer from each side's cassette (offline). */
  replay: boolean;
  gates: DiffGates;
}

/** One side of an eval diff. */
export interface DiffSide {
  /** The ref as given (`main`, `HEAD~1`, `WORKTREE`). */
  git_ref: string;
  commit: string | null;
  /** Uncommitted changes were evaluated. */
  dirty: boolean;
  run_id: string;
  /** Reused from an earlier run with the same content hash. */
  reused: boolean;
  content_hash: string;
  pass_rate: number | null;
  mean_score: number | null;
  /** USD, as if uncached. */
  cost: number;
  latency_p50_ms: number | null;
  pass: number;
  fail: number;
  error: number;
}

/** How a case changed between base and head. */
export type CaseChange = 'regressed' | 'errored' | 'fixed' | 'still_failing' | 'new' | 'removed' | 'unchanged';

/** A case's results on one side. */
export interface CaseSide {
  passes: number;
  runs: number;
  errors: number;
  /** Majority verdict: `pass`, `fail` or `error`. */
  outcome: string;
  score: number | null;
  cost: number | null;
  latency_ms: number | null;
  /** The first repeat's output. */
  output: string | null;
  /** Reasons of the first failing repeat's failed assertions (or its error). */
  reasons: string[];
}

/** One case x prompt x provider compared. */
export interface CaseDiff {
  case_id: string;
  prompt_id: string;
  provider: string;
  change: CaseChange;
  /** Repeats disagreed on either side. */
  flaky: boolean;
  base: CaseSide | null;
  head: CaseSide | null;
  score_delta: number | null;
  cost_delta: number | null;
  latency_delta_ms: number | null;
  /** The outputs' word diff, `[-old-]{+new+}` around changes, when they differ. */
  output_diff: string | null;
}

/** Cases by change. */
export interface DiffCounts {
  regressed: number;
  errored: number;
  fixed: number;
  still_failing: number;
  new: number;
  removed: number;
  unchanged: number;
  flaky: number;
}

/** The paired test over cases graded on both sides. */
export interface PairedTest {
  /** Which test. */
  test: string;
  regressed: number;
  fixed: number;
  /** Two-sided. */
  p_value: number;
  significantly_worse: boolean;
  significantly_better: boolean;
}

/** `eval_diff` result. */
export interface EvalDiff {
  evalset: string;
  base: DiffSide;
  head: DiffSide;
  /** Regressions first. */
  cases: CaseDiff[];
  counts: DiffCounts;
  paired: PairedTest;
  gates: EvalGateResult[];
  /** Every gate held. */
  passed: boolean;
}

/** `eval_trend` arguments. */
export interface EvalTrendArgs {
  evalset: string;
  /** Branch or ref whose history to follow (default HEAD). */
  rev?: string;
  /** Commits to look back (default 30). */
  limit?: number;
  theme?: 'light' | 'dark';
}

/** One commit of a trend. */
export interface TrendPoint {
  commit: CommitView;
  /** The latest completed run at that commit. */
  run_id: string | null;
  pass_rate: number | null;
  mean_score: number | null;
}

/** `eval_trend` result. */
export interface EvalTrend {
  evalset: string;
  /** Oldest first. */
  points: TrendPoint[];
  /** The chart, rendered by the backend. */
  svg: string;
}

// ---- Cost --------------------------------------------------------------------------------------

/** The dimensions cost can be broken down by (`COST_DIMENSIONS`). */
export type CostDimension =
  | 'tenant'
  | 'endpoint'
  | 'model'
  | 'prompt'
  | 'prompt_version'
  | 'feature'
  | 'environment'
  | 'user';

/** The size of a chart bar or breakdown period. */
export type CostPer = 'day' | 'hour' | 'month';

/** `cost_breakdown` arguments; unset keys are left out. */
export interface CostQuery {
  /** Dimensions to group by; empty = the total only. `user` cannot be combined with others. */
  by?: CostDimension[];
  /** Period size; unset = the whole range. */
  per?: CostPer;
  /** From (RFC 3339 or YYYY-MM-DD, inclusive); default: 30 days before `until`. */
  since?: string;
  /** Until (exclusive); default: the end of the last day with data. */
  until?: string;
  /** Dimension -> exact value ("" matches spans without the key). */
  filters?: Partial<Record<CostDimension, string>>;
  /** Keep the top N groups by cost (the rest summed into one "other" row). */
  top?: number;
}

/** Token and money sums. */
export interface CostTotals {
  /** Model calls (llm spans). */
  requests: number;
  errors: number;
  /** Computed cost (USD) of the priced calls. */
  cost: number;
  /** Cost the sources reported (USD), where they did. */
  reported_cost: number;
  /** Calls whose model has no price. */
  unpriced: number;
  /** Cached included. */
  input_tokens: number;
  /** Reasoning included. */
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  cost_per_1k_requests: number | null;
}

/** One row of a breakdown. */
export interface CostRow {
  /** One value per `by` dimension ("(none)" without it, "other" for the rest after `top`). */
  keys: string[];
  /** `2026-10-03`, `2026-10-03T14`, `2026-10` when `per` is set. */
  period: string | null;
  totals: CostTotals;
  /** Share of the total cost (0..1). */
  share: number;
  /** Change of cost against the previous period or range, in percent. */
  change_pct: number | null;
}

/** A model without a price, and how many calls used it. */
export interface UnpricedModel {
  model: string;
  requests: number;
}

/** Where a source's reported cost and the computed cost differ (by more than 5%). */
export interface CostDisagreement {
  model: string;
  /** USD over the calls that reported a cost. */
  computed: number;
  reported: number;
}

/** `cost_breakdown` result. */
export interface CostReport {
  /** The range as resolved (RFC 3339). */
  since: string;
  /** End of the range (exclusive). */
  until: string;
  by: CostDimension[];
  per: CostPer | null;
  total: CostTotals;
  /** The range of the same length just before. */
  previous: CostTotals;
  /** Change of total cost against the previous range, in percent. */
  change_pct: number | null;
  /** By period, then cost (largest first). */
  rows: CostRow[];
  unpriced_models: UnpricedModel[];
  disagreements: CostDisagreement[];
}

/** `cost_chart` arguments: a stacked cost chart. */
export interface CostChartArgs {
  /** The dimension to stack by (unset: one series). */
  by?: CostDimension;
  per?: CostPer;
  since?: string;
  until?: string;
  filters?: Partial<Record<CostDimension, string>>;
  theme?: 'light' | 'dark';
  /** Pixels (default 960). */
  width?: number;
  /** Pixels (default 360). */
  height?: number;
}

/** `cost_chart` result. */
export interface CostChart {
  /** The chart as SVG, a `<title>` tooltip on every bar segment (`acme · 2026-10-03 · $12.34`). */
  svg: string;
  /** The x labels, in order. */
  periods: string[];
  /** The stacked groups, in stacking order. */
  series: string[];
}
