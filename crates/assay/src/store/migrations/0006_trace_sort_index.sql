-- The trace list sorted by duration, tokens or span count reads its sort keys from an index
-- beside the search number (`traces_search_sorts`), and the filter values come from one index
-- of the four filtered columns (`traces_facets`), both created at open by
-- `store::traces::ensure_filter_indexes`. They replace the index on the search number alone and
-- the one on the model lists.
DROP INDEX IF EXISTS traces_search;
DROP INDEX IF EXISTS traces_models;
