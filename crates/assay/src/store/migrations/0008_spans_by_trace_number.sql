-- Span identity keyed by the trace's number instead of its 32-character id: the unique index
-- becomes (trace_key, span_id), where `trace_key` is the trace's `traces.search_num` (the row id
-- of its first span, assigned when the trace is first written, never changed). New traces take
-- growing numbers, so the index is appended to instead of written at random (every commit of an
-- import rewrote most of the old index's pages), and its keys are shorter. A trace's spans are
-- found by its number (`traces_id` maps an id to it). A table constraint cannot be dropped, so
-- the table is rebuilt, and its triggers (`0004_cost_narrow_rollups.sql`) are created again,
-- unchanged. Run with foreign keys off (see `store::migrate`).
CREATE TABLE spans_by_trace_number (
    id                 INTEGER PRIMARY KEY,
    trace_key          INTEGER NOT NULL,     -- the trace's number, `traces.search_num`
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
    cost               REAL,
    unpriced           INTEGER NOT NULL DEFAULT 0,
    UNIQUE (trace_key, span_id)
);
INSERT INTO spans_by_trace_number (id, trace_key, trace_id, span_id, parent_span_id, name, kind,
    start_ns, end_ns, status, status_message, error_class, service, provider, request_model,
    response_model, finish_reason, ttft_ns, input_tokens, output_tokens, cache_read_tokens,
    cache_write_tokens, reasoning_tokens, reported_cost, prompt_name, prompt_version, tenant,
    endpoint, feature, user_id, session_id, environment, release, tags, duplicate_of, import_id,
    cost, unpriced)
SELECT s.id,
    coalesce(t.search_num, (SELECT min(o.id) FROM spans o WHERE o.trace_id = s.trace_id)),
    s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_ns, s.end_ns, s.status,
    s.status_message, s.error_class, s.service, s.provider, s.request_model, s.response_model,
    s.finish_reason, s.ttft_ns, s.input_tokens, s.output_tokens, s.cache_read_tokens,
    s.cache_write_tokens, s.reasoning_tokens, s.reported_cost, s.prompt_name, s.prompt_version,
    s.tenant, s.endpoint, s.feature, s.user_id, s.session_id, s.environment, s.release, s.tags,
    s.duplicate_of, s.import_id, s.cost, s.unpriced
FROM spans s LEFT JOIN traces t ON t.trace_id = s.trace_id
ORDER BY s.id;
DROP TABLE spans;
ALTER TABLE spans_by_trace_number RENAME TO spans;

CREATE TRIGGER spans_cost_delete AFTER DELETE ON spans
WHEN OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL
BEGIN
    UPDATE cost_hourly SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE hour = OLD.start_ns / 3600000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '') AND model = coalesce(OLD.request_model, OLD.response_model, '')
      AND prompt = coalesce(OLD.prompt_name, '') AND prompt_version = coalesce(OLD.prompt_version, '')
      AND feature = coalesce(OLD.feature, '') AND environment = coalesce(OLD.environment, '');
    UPDATE cost_daily SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE day = OLD.start_ns / 86400000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '') AND model = coalesce(OLD.request_model, OLD.response_model, '')
      AND prompt = coalesce(OLD.prompt_name, '') AND prompt_version = coalesce(OLD.prompt_version, '')
      AND feature = coalesce(OLD.feature, '') AND environment = coalesce(OLD.environment, '');
    UPDATE cost_hourly_by SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE (dim, hour, key) IN (VALUES (0, OLD.start_ns / 3600000000000, ''),
        (1, OLD.start_ns / 3600000000000, coalesce(OLD.tenant, '')),
        (2, OLD.start_ns / 3600000000000, coalesce(OLD.endpoint, '')),
        (3, OLD.start_ns / 3600000000000, coalesce(OLD.request_model, OLD.response_model, '')),
        (4, OLD.start_ns / 3600000000000, coalesce(OLD.prompt_name, '')),
        (5, OLD.start_ns / 3600000000000, coalesce(OLD.prompt_version, '')),
        (6, OLD.start_ns / 3600000000000, coalesce(OLD.feature, '')),
        (7, OLD.start_ns / 3600000000000, coalesce(OLD.environment, '')));
    UPDATE cost_user_daily SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0), cost = cost - coalesce(OLD.cost, 0)
    WHERE day = OLD.start_ns / 86400000000000 AND user_id = coalesce(OLD.user_id, '');
    UPDATE cost_user_monthly SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0), cost = cost - coalesce(OLD.cost, 0)
    WHERE month = (CAST(strftime('%Y', OLD.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1970) * 12
            + CAST(strftime('%m', OLD.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1
      AND user_id = coalesce(OLD.user_id, '');
END;

CREATE TRIGGER spans_cost_update_in_place AFTER UPDATE OF kind, duplicate_of, start_ns, status, tenant,
    endpoint, request_model, response_model, prompt_name, prompt_version, feature, environment,
    user_id, unpriced, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, cost, reported_cost ON spans
WHEN OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL AND NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    AND coalesce(OLD.tenant, '') = coalesce(NEW.tenant, '') AND coalesce(OLD.endpoint, '') = coalesce(NEW.endpoint, '') AND coalesce(OLD.request_model, OLD.response_model, '') = coalesce(NEW.request_model, NEW.response_model, '') AND coalesce(OLD.prompt_name, '') = coalesce(NEW.prompt_name, '') AND coalesce(OLD.prompt_version, '') = coalesce(NEW.prompt_version, '') AND coalesce(OLD.feature, '') = coalesce(NEW.feature, '') AND coalesce(OLD.environment, '') = coalesce(NEW.environment, '') AND OLD.start_ns = NEW.start_ns AND coalesce(OLD.user_id, '') = coalesce(NEW.user_id, '')
BEGIN
    UPDATE cost_hourly SET
        errors = errors + (NEW.status = 'error') - (OLD.status = 'error'),
        unpriced = unpriced + (NEW.unpriced) - (OLD.unpriced),
        input_tokens = input_tokens + (coalesce(NEW.input_tokens, 0)) - (coalesce(OLD.input_tokens, 0)),
        output_tokens = output_tokens + (coalesce(NEW.output_tokens, 0)) - (coalesce(OLD.output_tokens, 0)),
        cache_read = cache_read + (coalesce(NEW.cache_read_tokens, 0)) - (coalesce(OLD.cache_read_tokens, 0)),
        cache_write = cache_write + (coalesce(NEW.cache_write_tokens, 0)) - (coalesce(OLD.cache_write_tokens, 0)),
        reasoning = reasoning + (coalesce(NEW.reasoning_tokens, 0)) - (coalesce(OLD.reasoning_tokens, 0)),
        cost = cost + (coalesce(NEW.cost, 0)) - (coalesce(OLD.cost, 0)),
        reported_cost = reported_cost + (coalesce(NEW.reported_cost, 0)) - (coalesce(OLD.reported_cost, 0)),
        cost_reported = cost_reported + (CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END) - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE hour = NEW.start_ns / 3600000000000 AND tenant = coalesce(NEW.tenant, '')
      AND endpoint = coalesce(NEW.endpoint, '') AND model = coalesce(NEW.request_model, NEW.response_model, '')
      AND prompt = coalesce(NEW.prompt_name, '') AND prompt_version = coalesce(NEW.prompt_version, '')
      AND feature = coalesce(NEW.feature, '') AND environment = coalesce(NEW.environment, '');
    UPDATE cost_daily SET
        errors = errors + (NEW.status = 'error') - (OLD.status = 'error'),
        unpriced = unpriced + (NEW.unpriced) - (OLD.unpriced),
        input_tokens = input_tokens + (coalesce(NEW.input_tokens, 0)) - (coalesce(OLD.input_tokens, 0)),
        output_tokens = output_tokens + (coalesce(NEW.output_tokens, 0)) - (coalesce(OLD.output_tokens, 0)),
        cache_read = cache_read + (coalesce(NEW.cache_read_tokens, 0)) - (coalesce(OLD.cache_read_tokens, 0)),
        cache_write = cache_write + (coalesce(NEW.cache_write_tokens, 0)) - (coalesce(OLD.cache_write_tokens, 0)),
        reasoning = reasoning + (coalesce(NEW.reasoning_tokens, 0)) - (coalesce(OLD.reasoning_tokens, 0)),
        cost = cost + (coalesce(NEW.cost, 0)) - (coalesce(OLD.cost, 0)),
        reported_cost = reported_cost + (coalesce(NEW.reported_cost, 0)) - (coalesce(OLD.reported_cost, 0)),
        cost_reported = cost_reported + (CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END) - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE day = NEW.start_ns / 86400000000000 AND tenant = coalesce(NEW.tenant, '')
      AND endpoint = coalesce(NEW.endpoint, '') AND model = coalesce(NEW.request_model, NEW.response_model, '')
      AND prompt = coalesce(NEW.prompt_name, '') AND prompt_version = coalesce(NEW.prompt_version, '')
      AND feature = coalesce(NEW.feature, '') AND environment = coalesce(NEW.environment, '');
    UPDATE cost_hourly_by SET
        errors = errors + (NEW.status = 'error') - (OLD.status = 'error'),
        unpriced = unpriced + (NEW.unpriced) - (OLD.unpriced),
        input_tokens = input_tokens + (coalesce(NEW.input_tokens, 0)) - (coalesce(OLD.input_tokens, 0)),
        output_tokens = output_tokens + (coalesce(NEW.output_tokens, 0)) - (coalesce(OLD.output_tokens, 0)),
        cache_read = cache_read + (coalesce(NEW.cache_read_tokens, 0)) - (coalesce(OLD.cache_read_tokens, 0)),
        cache_write = cache_write + (coalesce(NEW.cache_write_tokens, 0)) - (coalesce(OLD.cache_write_tokens, 0)),
        reasoning = reasoning + (coalesce(NEW.reasoning_tokens, 0)) - (coalesce(OLD.reasoning_tokens, 0)),
        cost = cost + (coalesce(NEW.cost, 0)) - (coalesce(OLD.cost, 0)),
        reported_cost = reported_cost + (coalesce(NEW.reported_cost, 0)) - (coalesce(OLD.reported_cost, 0)),
        cost_reported = cost_reported + (CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END) - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE (dim, hour, key) IN (VALUES (0, NEW.start_ns / 3600000000000, ''),
        (1, NEW.start_ns / 3600000000000, coalesce(NEW.tenant, '')),
        (2, NEW.start_ns / 3600000000000, coalesce(NEW.endpoint, '')),
        (3, NEW.start_ns / 3600000000000, coalesce(NEW.request_model, NEW.response_model, '')),
        (4, NEW.start_ns / 3600000000000, coalesce(NEW.prompt_name, '')),
        (5, NEW.start_ns / 3600000000000, coalesce(NEW.prompt_version, '')),
        (6, NEW.start_ns / 3600000000000, coalesce(NEW.feature, '')),
        (7, NEW.start_ns / 3600000000000, coalesce(NEW.environment, '')));
    UPDATE cost_user_daily SET
        errors = errors + (NEW.status = 'error') - (OLD.status = 'error'),
        unpriced = unpriced + (NEW.unpriced) - (OLD.unpriced),
        input_tokens = input_tokens + (coalesce(NEW.input_tokens, 0)) - (coalesce(OLD.input_tokens, 0)),
        output_tokens = output_tokens + (coalesce(NEW.output_tokens, 0)) - (coalesce(OLD.output_tokens, 0)),
        cost = cost + (coalesce(NEW.cost, 0)) - (coalesce(OLD.cost, 0))
    WHERE day = NEW.start_ns / 86400000000000 AND user_id = coalesce(NEW.user_id, '');
    UPDATE cost_user_monthly SET
        errors = errors + (NEW.status = 'error') - (OLD.status = 'error'),
        unpriced = unpriced + (NEW.unpriced) - (OLD.unpriced),
        input_tokens = input_tokens + (coalesce(NEW.input_tokens, 0)) - (coalesce(OLD.input_tokens, 0)),
        output_tokens = output_tokens + (coalesce(NEW.output_tokens, 0)) - (coalesce(OLD.output_tokens, 0)),
        cost = cost + (coalesce(NEW.cost, 0)) - (coalesce(OLD.cost, 0))
    WHERE month = (CAST(strftime('%Y', NEW.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1970) * 12
            + CAST(strftime('%m', NEW.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1
      AND user_id = coalesce(NEW.user_id, '');
END;

-- Any other update of a counted call (its groups changed, or it stopped or started counting):
-- the old row out, the new one in, each only if it counts.
CREATE TRIGGER spans_cost_update_moved AFTER UPDATE OF kind, duplicate_of, start_ns, status, tenant,
    endpoint, request_model, response_model, prompt_name, prompt_version, feature, environment,
    user_id, unpriced, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, cost, reported_cost ON spans
WHEN ((OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL) OR (NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL))
    AND NOT (OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL AND NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    AND coalesce(OLD.tenant, '') = coalesce(NEW.tenant, '') AND coalesce(OLD.endpoint, '') = coalesce(NEW.endpoint, '') AND coalesce(OLD.request_model, OLD.response_model, '') = coalesce(NEW.request_model, NEW.response_model, '') AND coalesce(OLD.prompt_name, '') = coalesce(NEW.prompt_name, '') AND coalesce(OLD.prompt_version, '') = coalesce(NEW.prompt_version, '') AND coalesce(OLD.feature, '') = coalesce(NEW.feature, '') AND coalesce(OLD.environment, '') = coalesce(NEW.environment, '') AND OLD.start_ns = NEW.start_ns AND coalesce(OLD.user_id, '') = coalesce(NEW.user_id, ''))
BEGIN
    UPDATE cost_hourly SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE hour = OLD.start_ns / 3600000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '') AND model = coalesce(OLD.request_model, OLD.response_model, '')
      AND prompt = coalesce(OLD.prompt_name, '') AND prompt_version = coalesce(OLD.prompt_version, '')
      AND feature = coalesce(OLD.feature, '') AND environment = coalesce(OLD.environment, '')
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    UPDATE cost_daily SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE day = OLD.start_ns / 86400000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '') AND model = coalesce(OLD.request_model, OLD.response_model, '')
      AND prompt = coalesce(OLD.prompt_name, '') AND prompt_version = coalesce(OLD.prompt_version, '')
      AND feature = coalesce(OLD.feature, '') AND environment = coalesce(OLD.environment, '')
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    UPDATE cost_hourly_by SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported - (CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END)
    WHERE (dim, hour, key) IN (VALUES (0, OLD.start_ns / 3600000000000, ''),
        (1, OLD.start_ns / 3600000000000, coalesce(OLD.tenant, '')),
        (2, OLD.start_ns / 3600000000000, coalesce(OLD.endpoint, '')),
        (3, OLD.start_ns / 3600000000000, coalesce(OLD.request_model, OLD.response_model, '')),
        (4, OLD.start_ns / 3600000000000, coalesce(OLD.prompt_name, '')),
        (5, OLD.start_ns / 3600000000000, coalesce(OLD.prompt_version, '')),
        (6, OLD.start_ns / 3600000000000, coalesce(OLD.feature, '')),
        (7, OLD.start_ns / 3600000000000, coalesce(OLD.environment, '')))
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    UPDATE cost_user_daily SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0), cost = cost - coalesce(OLD.cost, 0)
    WHERE day = OLD.start_ns / 86400000000000 AND user_id = coalesce(OLD.user_id, '')
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    UPDATE cost_user_monthly SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0), cost = cost - coalesce(OLD.cost, 0)
    WHERE month = (CAST(strftime('%Y', OLD.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1970) * 12
            + CAST(strftime('%m', OLD.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1
      AND user_id = coalesce(OLD.user_id, '')
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    INSERT INTO cost_hourly SELECT
        NEW.start_ns / 3600000000000, coalesce(NEW.tenant, ''), coalesce(NEW.endpoint, ''), coalesce(NEW.request_model, NEW.response_model, ''),
        coalesce(NEW.prompt_name, ''), coalesce(NEW.prompt_version, ''), coalesce(NEW.feature, ''), coalesce(NEW.environment, ''),
        1, NEW.status = 'error', NEW.unpriced, coalesce(NEW.input_tokens, 0),
        coalesce(NEW.output_tokens, 0), coalesce(NEW.cache_read_tokens, 0),
        coalesce(NEW.cache_write_tokens, 0), coalesce(NEW.reasoning_tokens, 0),
        coalesce(NEW.cost, 0), coalesce(NEW.reported_cost, 0), (CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END)
    WHERE NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    ON CONFLICT DO UPDATE SET
        requests = requests + 1, errors = errors + excluded.errors,
        unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
        reasoning = reasoning + excluded.reasoning, cost = cost + excluded.cost,
        reported_cost = reported_cost + excluded.reported_cost,
        cost_reported = cost_reported + excluded.cost_reported;
    INSERT INTO cost_daily SELECT
        NEW.start_ns / 86400000000000, coalesce(NEW.tenant, ''), coalesce(NEW.endpoint, ''), coalesce(NEW.request_model, NEW.response_model, ''),
        coalesce(NEW.prompt_name, ''), coalesce(NEW.prompt_version, ''), coalesce(NEW.feature, ''), coalesce(NEW.environment, ''),
        1, NEW.status = 'error', NEW.unpriced, coalesce(NEW.input_tokens, 0),
        coalesce(NEW.output_tokens, 0), coalesce(NEW.cache_read_tokens, 0),
        coalesce(NEW.cache_write_tokens, 0), coalesce(NEW.reasoning_tokens, 0),
        coalesce(NEW.cost, 0), coalesce(NEW.reported_cost, 0), (CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END)
    WHERE NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    ON CONFLICT DO UPDATE SET
        requests = requests + 1, errors = errors + excluded.errors,
        unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
        reasoning = reasoning + excluded.reasoning, cost = cost + excluded.cost,
        reported_cost = reported_cost + excluded.reported_cost,
        cost_reported = cost_reported + excluded.cost_reported;
    INSERT INTO cost_hourly_by SELECT
        k.column1, k.column2, k.column3,
        1, NEW.status = 'error', NEW.unpriced, coalesce(NEW.input_tokens, 0),
        coalesce(NEW.output_tokens, 0), coalesce(NEW.cache_read_tokens, 0),
        coalesce(NEW.cache_write_tokens, 0), coalesce(NEW.reasoning_tokens, 0),
        coalesce(NEW.cost, 0), coalesce(NEW.reported_cost, 0), (CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END)
    FROM (VALUES (0, NEW.start_ns / 3600000000000, ''),
        (1, NEW.start_ns / 3600000000000, coalesce(NEW.tenant, '')),
        (2, NEW.start_ns / 3600000000000, coalesce(NEW.endpoint, '')),
        (3, NEW.start_ns / 3600000000000, coalesce(NEW.request_model, NEW.response_model, '')),
        (4, NEW.start_ns / 3600000000000, coalesce(NEW.prompt_name, '')),
        (5, NEW.start_ns / 3600000000000, coalesce(NEW.prompt_version, '')),
        (6, NEW.start_ns / 3600000000000, coalesce(NEW.feature, '')),
        (7, NEW.start_ns / 3600000000000, coalesce(NEW.environment, ''))) AS k
    WHERE NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    ON CONFLICT DO UPDATE SET
        requests = requests + 1, errors = errors + excluded.errors,
        unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        cache_read = cache_read + excluded.cache_read, cache_write = cache_write + excluded.cache_write,
        reasoning = reasoning + excluded.reasoning, cost = cost + excluded.cost,
        reported_cost = reported_cost + excluded.reported_cost,
        cost_reported = cost_reported + excluded.cost_reported;
    INSERT INTO cost_user_daily SELECT
        NEW.start_ns / 86400000000000, coalesce(NEW.user_id, ''), 1, NEW.status = 'error',
        NEW.unpriced, coalesce(NEW.input_tokens, 0), coalesce(NEW.output_tokens, 0), coalesce(NEW.cost, 0)
    WHERE NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    ON CONFLICT DO UPDATE SET
        requests = requests + 1, errors = errors + excluded.errors,
        unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens, cost = cost + excluded.cost;
    INSERT INTO cost_user_monthly SELECT
        (CAST(strftime('%Y', NEW.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1970) * 12
            + CAST(strftime('%m', NEW.start_ns / 1000000000, 'unixepoch') AS INTEGER) - 1,
        coalesce(NEW.user_id, ''), 1, NEW.status = 'error',
        NEW.unpriced, coalesce(NEW.input_tokens, 0), coalesce(NEW.output_tokens, 0), coalesce(NEW.cost, 0)
    WHERE NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    ON CONFLICT DO UPDATE SET
        requests = requests + 1, errors = errors + excluded.errors,
        unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens, cost = cost + excluded.cost;
END;

