-- Cost: each model call's computed cost (priced at import from the catalogue and the
-- workspace's overrides; NULL with `unpriced` = 1 when no price covers its model), and rollups
-- kept exact by triggers, so dashboards never scan raw spans.
ALTER TABLE spans ADD COLUMN cost REAL;
ALTER TABLE spans ADD COLUMN unpriced INTEGER NOT NULL DEFAULT 0;

-- One row per hour and attribution group. Keys are '' when a span has no value. `hour` is
-- hours since the Unix epoch (UTC). Only model calls (llm and embedding spans) that are not
-- duplicates of another count.
CREATE TABLE cost_hourly (
    hour           INTEGER NOT NULL,
    tenant         TEXT    NOT NULL,
    endpoint       TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    prompt         TEXT    NOT NULL,
    prompt_version TEXT    NOT NULL,
    feature        TEXT    NOT NULL,
    environment    TEXT    NOT NULL,
    requests       INTEGER NOT NULL,
    errors         INTEGER NOT NULL,
    unpriced       INTEGER NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    cache_write    INTEGER NOT NULL,
    reasoning      INTEGER NOT NULL,
    cost           REAL    NOT NULL,
    reported_cost  REAL    NOT NULL,
    cost_reported  REAL    NOT NULL,          -- computed cost of the calls that reported one
    PRIMARY KEY (hour, tenant, endpoint, model, prompt, prompt_version, feature, environment)
) WITHOUT ROWID;

-- The same by day, so day, month and whole-range breakdowns read 24 times fewer rows.
CREATE TABLE cost_daily (
    day            INTEGER NOT NULL,          -- days since the Unix epoch (UTC)
    tenant         TEXT    NOT NULL,
    endpoint       TEXT    NOT NULL,
    model          TEXT    NOT NULL,
    prompt         TEXT    NOT NULL,
    prompt_version TEXT    NOT NULL,
    feature        TEXT    NOT NULL,
    environment    TEXT    NOT NULL,
    requests       INTEGER NOT NULL,
    errors         INTEGER NOT NULL,
    unpriced       INTEGER NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cache_read     INTEGER NOT NULL,
    cache_write    INTEGER NOT NULL,
    reasoning      INTEGER NOT NULL,
    cost           REAL    NOT NULL,
    reported_cost  REAL    NOT NULL,
    cost_reported  REAL    NOT NULL,          -- computed cost of the calls that reported one
    PRIMARY KEY (day, tenant, endpoint, model, prompt, prompt_version, feature, environment)
) WITHOUT ROWID;

-- Per user and day (users are many: kept apart from the groups above).
CREATE TABLE cost_user_daily (
    day            INTEGER NOT NULL,         -- days since the Unix epoch (UTC)
    user_id        TEXT    NOT NULL,
    requests       INTEGER NOT NULL,
    errors         INTEGER NOT NULL,
    unpriced       INTEGER NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cost           REAL    NOT NULL,
    PRIMARY KEY (day, user_id)
) WITHOUT ROWID;

-- Spans stored before this migration: their tokens now (their costs with `assay cost reprice`).
INSERT INTO cost_hourly
SELECT start_ns / 3600000000000, coalesce(tenant, ''), coalesce(endpoint, ''),
       coalesce(request_model, response_model, ''), coalesce(prompt_name, ''),
       coalesce(prompt_version, ''), coalesce(feature, ''), coalesce(environment, ''),
       count(*), sum(status = 'error'), 0, sum(coalesce(input_tokens, 0)),
       sum(coalesce(output_tokens, 0)), sum(coalesce(cache_read_tokens, 0)),
       sum(coalesce(cache_write_tokens, 0)), sum(coalesce(reasoning_tokens, 0)), 0,
       sum(coalesce(reported_cost, 0)), 0
FROM spans WHERE kind IN ('llm', 'embedding') AND duplicate_of IS NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO cost_daily
SELECT start_ns / 86400000000000, coalesce(tenant, ''), coalesce(endpoint, ''),
       coalesce(request_model, response_model, ''), coalesce(prompt_name, ''),
       coalesce(prompt_version, ''), coalesce(feature, ''), coalesce(environment, ''),
       count(*), sum(status = 'error'), 0, sum(coalesce(input_tokens, 0)),
       sum(coalesce(output_tokens, 0)), sum(coalesce(cache_read_tokens, 0)),
       sum(coalesce(cache_write_tokens, 0)), sum(coalesce(reasoning_tokens, 0)), 0,
       sum(coalesce(reported_cost, 0)), 0
FROM spans WHERE kind IN ('llm', 'embedding') AND duplicate_of IS NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8;
INSERT INTO cost_user_daily
SELECT start_ns / 86400000000000, coalesce(user_id, ''), count(*), sum(status = 'error'), 0,
       sum(coalesce(input_tokens, 0)), sum(coalesce(output_tokens, 0)), 0
FROM spans WHERE kind IN ('llm', 'embedding') AND duplicate_of IS NULL
GROUP BY 1, 2;

-- New spans are added by the writer (`store::spans::upsert`), aggregated per batch: one upsert
-- per group instead of one per span. Updates and deletes go through these triggers.

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
        cost_reported = cost_reported
            - CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END
    WHERE hour = OLD.start_ns / 3600000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '')
      AND model = coalesce(OLD.request_model, OLD.response_model, '')
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
        cost_reported = cost_reported
            - CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END
    WHERE day = OLD.start_ns / 86400000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '')
      AND model = coalesce(OLD.request_model, OLD.response_model, '')
      AND prompt = coalesce(OLD.prompt_name, '') AND prompt_version = coalesce(OLD.prompt_version, '')
      AND feature = coalesce(OLD.feature, '') AND environment = coalesce(OLD.environment, '');
    UPDATE cost_user_daily SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0), cost = cost - coalesce(OLD.cost, 0)
    WHERE day = OLD.start_ns / 86400000000000 AND user_id = coalesce(OLD.user_id, '');
END;

-- An update (a merge, a duplicate marked, a reprice) takes the old row out and puts the new one
-- in, each only if it counts.
CREATE TRIGGER spans_cost_update AFTER UPDATE OF kind, duplicate_of, start_ns, status, tenant,
    endpoint, request_model, response_model, prompt_name, prompt_version, feature, environment,
    user_id, unpriced, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    reasoning_tokens, cost, reported_cost ON spans
WHEN (OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL) OR (NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL)
BEGIN
    UPDATE cost_hourly SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0),
        cache_read = cache_read - coalesce(OLD.cache_read_tokens, 0),
        cache_write = cache_write - coalesce(OLD.cache_write_tokens, 0),
        reasoning = reasoning - coalesce(OLD.reasoning_tokens, 0),
        cost = cost - coalesce(OLD.cost, 0), reported_cost = reported_cost - coalesce(OLD.reported_cost, 0),
        cost_reported = cost_reported
            - CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END
    WHERE hour = OLD.start_ns / 3600000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '')
      AND model = coalesce(OLD.request_model, OLD.response_model, '')
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
        cost_reported = cost_reported
            - CASE WHEN OLD.reported_cost IS NULL THEN 0 ELSE coalesce(OLD.cost, 0) END
    WHERE day = OLD.start_ns / 86400000000000 AND tenant = coalesce(OLD.tenant, '')
      AND endpoint = coalesce(OLD.endpoint, '')
      AND model = coalesce(OLD.request_model, OLD.response_model, '')
      AND prompt = coalesce(OLD.prompt_name, '') AND prompt_version = coalesce(OLD.prompt_version, '')
      AND feature = coalesce(OLD.feature, '') AND environment = coalesce(OLD.environment, '')
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    UPDATE cost_user_daily SET
        requests = requests - 1, errors = errors - (OLD.status = 'error'),
        unpriced = unpriced - OLD.unpriced, input_tokens = input_tokens - coalesce(OLD.input_tokens, 0),
        output_tokens = output_tokens - coalesce(OLD.output_tokens, 0), cost = cost - coalesce(OLD.cost, 0)
    WHERE day = OLD.start_ns / 86400000000000 AND user_id = coalesce(OLD.user_id, '')
      AND OLD.kind IN ('llm', 'embedding') AND OLD.duplicate_of IS NULL;
    INSERT INTO cost_hourly SELECT
        NEW.start_ns / 3600000000000, coalesce(NEW.tenant, ''), coalesce(NEW.endpoint, ''),
        coalesce(NEW.request_model, NEW.response_model, ''), coalesce(NEW.prompt_name, ''),
        coalesce(NEW.prompt_version, ''), coalesce(NEW.feature, ''), coalesce(NEW.environment, ''),
        1, NEW.status = 'error', NEW.unpriced, coalesce(NEW.input_tokens, 0),
        coalesce(NEW.output_tokens, 0), coalesce(NEW.cache_read_tokens, 0),
        coalesce(NEW.cache_write_tokens, 0), coalesce(NEW.reasoning_tokens, 0),
        coalesce(NEW.cost, 0), coalesce(NEW.reported_cost, 0),
        CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END
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
        NEW.start_ns / 86400000000000, coalesce(NEW.tenant, ''), coalesce(NEW.endpoint, ''),
        coalesce(NEW.request_model, NEW.response_model, ''), coalesce(NEW.prompt_name, ''),
        coalesce(NEW.prompt_version, ''), coalesce(NEW.feature, ''), coalesce(NEW.environment, ''),
        1, NEW.status = 'error', NEW.unpriced, coalesce(NEW.input_tokens, 0),
        coalesce(NEW.output_tokens, 0), coalesce(NEW.cache_read_tokens, 0),
        coalesce(NEW.cache_write_tokens, 0), coalesce(NEW.reasoning_tokens, 0),
        coalesce(NEW.cost, 0), coalesce(NEW.reported_cost, 0),
        CASE WHEN NEW.reported_cost IS NULL THEN 0 ELSE coalesce(NEW.cost, 0) END
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
        NEW.unpriced, coalesce(NEW.input_tokens, 0), coalesce(NEW.output_tokens, 0),
        coalesce(NEW.cost, 0)
    WHERE NEW.kind IN ('llm', 'embedding') AND NEW.duplicate_of IS NULL
    ON CONFLICT DO UPDATE SET
        requests = requests + 1, errors = errors + excluded.errors,
        unpriced = unpriced + excluded.unpriced, input_tokens = input_tokens + excluded.input_tokens,
        output_tokens = output_tokens + excluded.output_tokens, cost = cost + excluded.cost;
END;
