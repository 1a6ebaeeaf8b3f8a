-- The external-in messages still without their TEP-467 hash: what Store::migrate fills in at
-- every start. Without this index that check scanned every message on each start; with it
-- an index with no entries answers (new rows are written with their hash).
CREATE INDEX messages_norm_hash_pending ON messages (tx_hash)
    WHERE norm_hash IS NULL AND msg_kind = 'ext_in' AND direction = 'in';
