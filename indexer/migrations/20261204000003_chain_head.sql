-- The newest masterchain block the indexer has seen on its liteserver (written each time it
-- reads the head, NULL until it has): with mc_seqno, the lag in blocks that the API and the
-- CLI report (`head_seqno - mc_seqno`), and the head's own chain time.
ALTER TABLE checkpoint ADD COLUMN head_seqno BIGINT, ADD COLUMN head_gen_utime BIGINT;
