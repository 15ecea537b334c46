-- Two narrower rollups, so that breakdowns over a whole month read a few thousand rows instead
-- of a hundred thousand:
--   * cost_hourly_by: per hour and ONE attribution key (or none), for hourly breakdowns by a
--     single dimension without filters (the full `cost_hourly` holds every combination of keys);
--   * cost_user_monthly: per user and calendar month, for user breakdowns over whole months
--     (the days at the edges of a range still come from `cost_user_daily`).
-- Both are kept like the others: new spans by the writer's batch (`store::cost::RollupBatch`),
-- updates and deletes by the triggers below.

-- `dim`: 0 = all calls (key ''), 1 tenant, 2 endpoint, 3 model, 4 prompt, 5 prompt_version,
-- 6 feature, 7 environment (the order of `store::cost::Dim`).
CREATE TABLE cost_hourly_by (
    dim            INTEGER NOT NULL,
    hour           INTEGER NOT NULL,
    key            TEXT    NOT NULL,
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
    cost_reported  REAL    NOT NULL,
    PRIMARY KEY (dim, hour, key)
) WITHOUT ROWID;

-- `month`: months since January 1970 (UTC).
CREATE TABLE cost_user_monthly (
    month          INTEGER NOT NULL,
    user_id        TEXT    NOT NULL,
    requests       INTEGER NOT NULL,
    errors         INTEGER NOT NULL,
    unpriced       INTEGER NOT NULL,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cost           REAL    NOT NULL,
    PRIMARY KEY (month, user_id)
) WITHOUT ROWID;

INSERT INTO cost_hourly_by
SELECT d.dim, h.hour,
       CASE d.dim WHEN 0 THEN '' WHEN 1 THEN h.tenant WHEN 2 THEN h.endpoint WHEN 3 THEN h.model
                  WHEN 4 THEN h.prompt WHEN 5 THEN h.prompt_version WHEN 6 THEN h.feature
                  ELSE h.environment END AS key,
       sum(requests), sum(errors), sum(unpriced), sum(input_tokens), sum(output_tokens),
       sum(cache_read), sum(cache_write), sum(reasoning), sum(cost), sum(reported_cost),
       sum(cost_reported)
FROM cost_hourly h, (SELECT column1 AS dim FROM (VALUES (0), (1), (2), (3), (4), (5), (6), (7))) d
GROUP BY 1, 2, 3;

INSERT INTO cost_user_monthly
SELECT (CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) - 1970) * 12
         + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,
       user_id, sum(requests), sum(errors), sum(unpriced), sum(input_tokens),
       sum(output_tokens), sum(cost)
FROM cost_user_daily GROUP BY 1, 2;

-- The update and delete triggers of `0003_cost.sql`, replaced by ones that keep all five
-- rollups. A call updated in place (repricing, a merge that adds tokens or an end time: its
-- groups unchanged) is moved by one delta per rollup row instead of a removal and an insertion.
DROP TRIGGER spans_cost_delete;
DROP TRIGGER spans_cost_update;

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

