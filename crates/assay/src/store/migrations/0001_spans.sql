-- Spans: one wide row per span, trace-level attribution denormalised onto each row.
CREATE TABLE spans (
    trace_id           TEXT    NOT NULL,
    span_id            TEXT    NOT NULL,
    parent_span_id     TEXT,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    start_ns           INTEGER NOT NULL,
    end_ns             INTEGER,
    status             TEXT    NOT NULL,
    status_message     TEXT,
    service            TEXT,
    provider           TEXT,
    request_model      TEXT,
    response_model     TEXT,
    input_tokens       INTEGER,
    output_tokens      INTEGER,
    cache_read_tokens  INTEGER,
    cache_write_tokens INTEGER,
    reasoning_tokens   INTEGER,
    tenant             TEXT,
    endpoint           TEXT,
    feature            TEXT,
    user_id            TEXT,
    session_id         TEXT,
    environment        TEXT,
    release            TEXT,
    import_id          INTEGER REFERENCES imports(id),
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;

CREATE INDEX spans_start ON spans(start_ns);

-- Payloads: big and rarely filtered, kept out of the hot table.
CREATE TABLE span_payloads (
    trace_id   TEXT NOT NULL,
    span_id    TEXT NOT NULL,
    input      TEXT,
    output     TEXT,
    attributes TEXT NOT NULL,
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;

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
    models        TEXT    NOT NULL,
    input_tokens  INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX traces_start ON traces(start_ns DESC);

-- Each import: where from, what it held, what it changed.
CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    source        TEXT    NOT NULL,
    format        TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    spans_read    INTEGER NOT NULL,
    spans_new     INTEGER NOT NULL,
    spans_merged  INTEGER NOT NULL,
    rejected      INTEGER NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT    NOT NULL
);
