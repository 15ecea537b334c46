-- The trace list sorted by duration, tokens or span count reads its sort keys from an index
-- beside the search number (`traces_search_sorts`, created at open by
-- `store::traces::ensure_filter_indexes`), and looks up only the rows of the page. It replaces
-- the index on the search number alone.
DROP INDEX IF EXISTS traces_search;
