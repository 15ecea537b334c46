-- Imports: where each batch of spans came from.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    source        TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    status        TEXT    NOT NULL,          -- running | done (a running import was interrupted)
    bytes         INTEGER NOT NULL DEFAULT 0,
    spans_read    INTEGER NOT NULL,
    spans_new     INTEGER NOT NULL,
    spans_merged  INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT
);

-- Spans: one wide row per span, trace-level attribution denormalised onto each row. Rows are
-- appended in import order (rowid); identity is the unique (trace_id, span_id), whose index is
-- the only B-tree an import touches at random.
CREATE TABLE spans (
    id                 INTEGER PRIMARY KEY,
    trace_id           TEXT    NOT NULL,
    span_id            TEXT    NOT NULL,
    parent_span_id     TEXT,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER,
    status             TEXT    NOT NULL,
    status_message     TEXT,
    error_class        TEXT,
    service            TEXT,
    provider           TEXT,
    request_model      TEXT,
    response_model     TEXT,
    finish_reason      TEXT,
    ttft_ns            INTEGER,
    input_tokens       INTEGER,
    output_tokens      INTEGER,
    cache_read_tokens  INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens   INTEGER,
    reported_cost      REAL,
    prompt_name        TEXT,
    prompt_version     TEXT,
    tenant             TEXT,
    endpoint           TEXT,
    feature            TEXT,
    user_id            TEXT,
    session_id         TEXT,
    environment        TEXT,
    release            TEXT,
    tags               TEXT,                 -- JSON array, NULL when none
    duplicate_of       TEXT,                 -- span id of the span recording the same model call
    import_id          INTEGER REFERENCES imports(id),
    UNIQUE (trace_id, span_id)
);


-- Payloads: big and rarely filtered, kept out of the hot table, keyed by their span's id.
-- `detail` holds the normalised messages, documents, prompt template, metadata and events as
-- one JSON object.
CREATE TABLE span_payloads (
    id         INTEGER PRIMARY KEY REFERENCES spans(id),
    input      TEXT,
    output     TEXT,
    detail     TEXT NOT NULL,
    attributes TEXT NOT NULL
);

-- Full-text index over inputs and outputs. Contentless (the text lives in span_payloads), with
-- deletes by rowid so a re-imported payload can be re-indexed. It may lag behind imports: every
-- payload above `search_state.indexed_up_to`, and every payload listed in `fts_pending` (merged
-- after it was indexed), is not yet searchable, and search says so.
CREATE VIRTUAL TABLE span_text USING fts5(input, output, content = '', contentless_delete = 1);
CREATE TABLE fts_pending (payload_id INTEGER PRIMARY KEY);
CREATE TABLE search_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_up_to INTEGER NOT NULL
);
INSERT INTO search_state (id, indexed_up_to) VALUES (1, 0);

-- One row per trace, recomputed from its spans whenever an import touches it, so listing
-- traces never aggregates raw spans.
CREATE TABLE traces (
    trace_id      TEXT    PRIMARY KEY NOT NULL,
    name          TEXT    NOT NULL,
    service       TEXT,
    start_ns      INTEGER NOT NULL,
    end_ns        INTEGER NOT NULL,
    span_count    INTEGER NOT NULL,
    error_count   INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    models        TEXT    NOT NULL,          -- distinct requested models, separated by char(31)
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    tenant        TEXT,
    endpoint      TEXT,
    feature       TEXT,
    user_id       TEXT,
    session_id    TEXT,
    environment   TEXT
) WITHOUT ROWID;

CREATE INDEX traces_start ON traces(start_ns DESC);
-- The list's filters, each ordered by time so a filtered first page reads only its rows.
CREATE INDEX traces_tenant ON traces(tenant, start_ns);
CREATE INDEX traces_endpoint ON traces(endpoint, start_ns);
CREATE INDEX traces_status ON traces(status, start_ns);
CREATE INDEX traces_environment ON traces(environment, start_ns);
