-- Server-sent events (issue 14, point 5): the API's streams and webhook outbox read the
-- indexer's `events` in commit order, (mc_seqno, lt, tx_hash, msg_idx): the indexer commits one
-- masterchain block at a time, in order, so a key read once is never followed by a smaller one.
-- This index serves the shared poller's "after this key" query (one per tick for every
-- subscriber) and the resumes (Last-Event-ID).
-- Append-only: never edit this file once applied; add a new migration.
CREATE INDEX IF NOT EXISTS events_stream_order ON events (mc_seqno, lt, tx_hash, msg_idx);
