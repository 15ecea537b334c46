-- Full-text search by trace instead of by span: a search for a common word matched tens of
-- thousands of spans, each of which had to be looked up to find its trace. One document per
-- trace (its name, service and models, and the inputs and outputs of all its spans) answers
-- with trace numbers that the trace list filters on directly.
--
-- `traces.search_num` is the rowid of the trace's document in `trace_text`: the smallest id of
-- its spans, so unique, known when the trace row is written, and never changed (span ids only
-- grow). The watermark and `fts_pending` keep their meaning (payloads not yet searchable): the
-- indexer (re)builds the documents of the traces those payloads belong to.
ALTER TABLE traces ADD COLUMN search_num INTEGER;
UPDATE traces SET search_num = (SELECT min(s.id) FROM spans s WHERE s.trace_id = traces.trace_id);
CREATE VIRTUAL TABLE trace_text USING fts5(meta, body, content = '', contentless_delete = 1);
DROP TABLE span_text;
-- The list's key indexes now hold `search_num` too (under new names, created at open by
-- `store::traces::ensure_filter_indexes`).
DROP INDEX IF EXISTS traces_tenant;
DROP INDEX IF EXISTS traces_endpoint;
DROP INDEX IF EXISTS traces_status;
DROP INDEX IF EXISTS traces_environment;
-- Everything is indexed again, by trace.
UPDATE search_state SET indexed_up_to = 0;
DELETE FROM fts_pending;
