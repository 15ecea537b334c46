// Builders for backend shapes in tests: complete objects, overridable per test.
import type {
  CaseDiff,
  CaseSide,
  CommitView,
  DiffSide,
  EvalCaseInfo,
  EvalDiff,
  EvalProgress,
  EvalResultRow,
  EvalRunBrief,
  EvalRunDetail,
  EvalSetInfo,
  EvalSummaryRow,
  ImportReport,
  SpanView,
  TraceList,
  TraceSummary,
  WorkspaceInfo,
} from './lib/types';

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
    cost: null,
    unpriced: false,
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
    spans_unchanged: 0,
    bytes: 4096,
    rejected: [],
    rejected_count: 0,
    ...overrides,
  };
}

export function runBrief(id: string, overrides: Partial<EvalRunBrief> = {}): EvalRunBrief {
  return {
    id,
    evalset: 'support',
    status: 'completed',
    started_at: '2026-11-27T04:16:30Z',
    finished_at: '2026-11-27T04:17:12Z',
    duration_ms: 42_000,
    planned: 4,
    done: 4,
    pass: 3,
    fail: 1,
    error: 0,
    pass_rate: 0.75,
    cost: 0.0123,
    git_commit: '3f9a2c1d4e5b6a7f8091a2b3c4d5e6f708192a3b',
    git_dirty: false,
    gates_passed: true,
    content_hash: 'sha256:abc',
    ...overrides,
  };
}

export function evalSet(name: string, overrides: Partial<EvalSetInfo> = {}): EvalSetInfo {
  return {
    name,
    path: `evalsets/${name}/evalset.yaml`,
    description: `Checks ${name}`,
    prompts: ['answer'],
    providers: ['gpt-4o-mini', 'claude-haiku'],
    cases: 2,
    has_cassette: false,
    error: null,
    last_run: null,
    ...overrides,
  };
}

export function progress(runId: string, overrides: Partial<EvalProgress> = {}): EvalProgress {
  return {
    run_id: runId,
    status: 'running',
    done: 0,
    total: 4,
    pass: 0,
    fail: 0,
    error: 0,
    cost: 0,
    cached: 0,
    message: null,
    ...overrides,
  };
}

export function evalCase(index: number, overrides: Partial<EvalCaseInfo> = {}): EvalCaseInfo {
  return {
    index,
    id: `case-${index}`,
    description: `Case number ${index}`,
    tags: [],
    vars: { question: `question ${index}` },
    location: `evalsets/support/evalset.yaml: tests[${index}]`,
    ...overrides,
  };
}

export function result(
  caseIndex: number,
  promptId: string,
  provider: string,
  overrides: Partial<EvalResultRow> = {},
): EvalResultRow {
  return {
    case_index: caseIndex,
    case_id: `case-${caseIndex}`,
    prompt_id: promptId,
    provider,
    repeat_index: 0,
    outcome: 'pass',
    score: 1,
    output: `answer ${caseIndex} from ${provider}`,
    error: null,
    latency_ms: 820,
    ttft_ms: null,
    input_tokens: 120,
    output_tokens: 30,
    cost: 0.0004,
    cached: false,
    assertions: [{ kind: 'contains', pass: true, score: 1, reason: 'found "refund"', weight: 1 }],
    rendered: [{ role: 'user', content: `question ${caseIndex}` }],
    trace_id: null,
    ...overrides,
  };
}

export function summaryRow(promptId: string, provider: string, overrides: Partial<EvalSummaryRow> = {}): EvalSummaryRow {
  return {
    prompt_id: promptId,
    provider,
    total: 2,
    pass: 2,
    fail: 0,
    error: 0,
    pass_rate: 1,
    mean_score: 1,
    cost: 0.0008,
    latency_p50_ms: 800,
    latency_p95_ms: 1500,
    input_tokens: 240,
    output_tokens: 60,
    cached: 0,
    ...overrides,
  };
}

/** A run of two cases x one prompt x two providers; override any part. */
export function runDetail(overrides: Partial<EvalRunDetail> = {}, run: Partial<EvalRunBrief> = {}): EvalRunDetail {
  return {
    summary: {
      run: runBrief('run-1', run),
      rows: [summaryRow('answer', 'gpt-4o-mini'), summaryRow('answer', 'claude-haiku')],
      metrics: [],
      gates: [],
      passed: true,
      unsupported: [],
      repeats: [],
    },
    description: 'Checks support answers',
    prompts: [{ id: 'answer', label: 'answer' }],
    providers: [
      { id: 'gpt-4o-mini', label: 'gpt-4o-mini' },
      { id: 'claude-haiku', label: 'claude-haiku' },
    ],
    cases: [evalCase(0), evalCase(1)],
    results: [
      result(0, 'answer', 'gpt-4o-mini'),
      result(0, 'answer', 'claude-haiku'),
      result(1, 'answer', 'gpt-4o-mini'),
      result(1, 'answer', 'claude-haiku'),
    ],
    ...overrides,
  };
}

/** A commit whose sha repeats `mark` (`commit('a')` -> `aaaa…`). */
export function commit(mark: string, overrides: Partial<CommitView> = {}): CommitView {
  const sha = mark.repeat(40).slice(0, 40);
  return {
    sha,
    short: sha.slice(0, 7),
    author: 'Dana Dev',
    time: '2026-11-26T04:16:30Z',
    summary: `Commit ${mark}`,
    ...overrides,
  };
}

export function diffSide(gitRef: string, overrides: Partial<DiffSide> = {}): DiffSide {
  return {
    git_ref: gitRef,
    commit: 'b'.repeat(40),
    dirty: false,
    run_id: `run-${gitRef}`,
    reused: false,
    content_hash: 'sha256:abc',
    pass_rate: 0.9,
    mean_score: 0.9,
    cost: 0.01,
    latency_p50_ms: 800,
    pass: 9,
    fail: 1,
    error: 0,
    ...overrides,
  };
}

export function caseSide(outcome: string, overrides: Partial<CaseSide> = {}): CaseSide {
  return {
    passes: outcome === 'pass' ? 1 : 0,
    runs: 1,
    errors: outcome === 'error' ? 1 : 0,
    outcome,
    score: outcome === 'pass' ? 1 : 0,
    cost: 0.001,
    latency_ms: 800,
    output: `${outcome} output`,
    reasons: outcome === 'pass' ? [] : [`${outcome}: expected "refund"`],
    ...overrides,
  };
}

export function caseDiff(caseId: string, change: CaseDiff['change'], overrides: Partial<CaseDiff> = {}): CaseDiff {
  const before = change === 'fixed' || change === 'still_failing' ? 'fail' : 'pass';
  const after = change === 'regressed' || change === 'still_failing' ? 'fail' : change === 'errored' ? 'error' : 'pass';
  return {
    case_id: caseId,
    prompt_id: 'answer',
    provider: 'gpt-4o-mini',
    change,
    flaky: false,
    base: change === 'new' ? null : caseSide(before),
    head: change === 'removed' ? null : caseSide(after),
    score_delta: null,
    cost_delta: null,
    latency_delta_ms: null,
    output_diff: null,
    ...overrides,
  };
}

/** A diff of HEAD~1 against the working tree. */
export function evalDiff(overrides: Partial<EvalDiff> = {}): EvalDiff {
  return {
    evalset: 'support',
    base: diffSide('HEAD~1'),
    head: diffSide('WORKTREE', { commit: 'c'.repeat(40), dirty: true, pass_rate: 0.8, mean_score: 0.85, cost: 0.0112, latency_p50_ms: 900 }),
    cases: [],
    counts: { regressed: 0, errored: 0, fixed: 0, still_failing: 0, new: 0, removed: 0, unchanged: 0, flaky: 0 },
    paired: { test: "McNemar's exact test", regressed: 0, fixed: 0, p_value: 1, significantly_worse: false, significantly_better: false },
    gates: [],
    passed: true,
    ...overrides,
  };
}
