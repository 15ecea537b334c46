-- Evaluation runs: one row per `assay eval run`. `plan` is the resolved plan as JSON (prompts,
-- providers without secrets, cases, gates), so a run can be shown, resumed and compared
-- without the files it was read from.
CREATE TABLE eval_runs (
    id            TEXT    PRIMARY KEY NOT NULL,
    evalset       TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    description   TEXT,
    content_hash  TEXT    NOT NULL,          -- hash of exactly what was evaluated
    git_commit    TEXT,
    git_dirty     INTEGER,
    status        TEXT    NOT NULL,          -- running | completed | interrupted
    started_ns    INTEGER NOT NULL,
    finished_ns   INTEGER,
    planned       INTEGER NOT NULL,          -- results the plan calls for
    plan          TEXT    NOT NULL,
    summary       TEXT                       -- the final summary (gates included), as JSON
) WITHOUT ROWID;
CREATE INDEX eval_runs_started ON eval_runs(started_ns DESC);

-- One result per case x prompt x provider x repeat, written as each finishes. The primary key
-- makes a resumed run fill in only what is missing.
CREATE TABLE eval_results (
    run_id         TEXT    NOT NULL REFERENCES eval_runs(id),
    case_index     INTEGER NOT NULL,
    prompt_id      TEXT    NOT NULL,
    provider       TEXT    NOT NULL,         -- the provider's label
    repeat_index   INTEGER NOT NULL,
    case_id        TEXT    NOT NULL,
    outcome        TEXT    NOT NULL,         -- pass | fail | error
    score          REAL    NOT NULL,
    output         TEXT,
    error          TEXT,
    latency_ms     REAL,
    ttft_ms        REAL,
    input_tokens   INTEGER,
    output_tokens  INTEGER,
    cost           REAL,
    cached         INTEGER NOT NULL,
    assertions     TEXT    NOT NULL,         -- JSON array of assertion results
    rendered       TEXT    NOT NULL,         -- JSON array of the rendered messages
    trace_id       TEXT,                     -- the trace recording the provider call
    finished_ns    INTEGER NOT NULL,
    PRIMARY KEY (run_id, case_index, prompt_id, provider, repeat_index)
) WITHOUT ROWID;

-- Provider responses by request: a rerun of an unchanged request costs nothing. Only successful,
-- non-empty responses are stored.
CREATE TABLE response_cache (
    key         TEXT    PRIMARY KEY NOT NULL,  -- sha256 of provider, model, parameters, messages
    response    TEXT    NOT NULL,              -- ProviderResponse as JSON
    trace_id    TEXT,                          -- the trace of the call that produced it
    created_ns  INTEGER NOT NULL
) WITHOUT ROWID;
