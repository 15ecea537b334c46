-- A resource's attributes (service, SDK, host, deployment: the same on every span one process
-- sends) stored once, instead of in the attributes of each of its spans, where they took a
-- quarter to a half of the payload. Keyed by a hash of their JSON text (see
-- `store::spans::StoredResource`), so the same resource met by any import is one row. A span's
-- attributes, read back, are its own and its resource's; spans stored before keep theirs inline.
CREATE TABLE resources (
    id         INTEGER PRIMARY KEY,
    attributes TEXT    NOT NULL         -- JSON object, keys as in a span's attributes (`resource.*`)
);
ALTER TABLE span_payloads ADD COLUMN resource_id INTEGER REFERENCES resources(id);
