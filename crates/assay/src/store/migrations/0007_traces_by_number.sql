-- Trace rows keyed by their document number (`search_num`, the smallest id of the trace's
-- spans: unique, known when the row is written, never changed) instead of by their random
-- 32-character id. New traces append to the table instead of landing at random in a B-tree of
-- every trace row, and each index of the list holds the 8-byte number instead of the id (the
-- indexes shrink by half and build twice as fast). The trace id keeps a unique index of its own.
-- Ties in the list's orders break by the number (import order) instead of by the id.
CREATE TABLE traces_by_number (
    search_num    INTEGER PRIMARY KEY,
    trace_id      TEXT    NOT NULL,
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
);
INSERT INTO traces_by_number (search_num, trace_id, name, service, start_ns, end_ns, span_count,
    error_count, status, models, input_tokens, output_tokens, tenant, endpoint, feature, user_id,
    session_id, environment)
SELECT coalesce(search_num, (SELECT min(s.id) FROM spans s WHERE s.trace_id = traces.trace_id)),
    trace_id, name, service, start_ns, end_ns, span_count, error_count, status, models,
    input_tokens, output_tokens, tenant, endpoint, feature, user_id, session_id, environment
FROM traces ORDER BY 1;
-- Drops the old list indexes with it; `store::traces::ensure_filter_indexes` builds the new
-- ones at open.
DROP TABLE traces;
ALTER TABLE traces_by_number RENAME TO traces;
CREATE UNIQUE INDEX traces_id ON traces(trace_id);
CREATE INDEX traces_start ON traces(start_ns DESC);
