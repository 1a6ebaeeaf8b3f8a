-- TEP-467: the normalized hash of every external-in message (src addr_none, import_fee 0, no
-- StateInit, the body as a reference), so that the BoC a wallet returned from TonConnect's
-- sendTransaction finds the transaction it started whatever form the message took on its way.
-- NULL for internal and external-out messages. Rows indexed before this migration are filled
-- in by the indexer at start (Store::migrate: it needs the transaction BOC to compute it).
ALTER TABLE messages
    ADD COLUMN norm_hash BYTEA CHECK (norm_hash IS NULL OR octet_length(norm_hash) = 32);
CREATE INDEX messages_norm_hash ON messages (norm_hash) WHERE norm_hash IS NOT NULL;

-- Clients' wallets are watched (kind 'wallet') so their transactions, the ones their
-- external messages start, are kept.
ALTER TABLE watched_accounts DROP CONSTRAINT watched_accounts_kind_check;
ALTER TABLE watched_accounts ADD CONSTRAINT watched_accounts_kind_check
    CHECK (kind IN ('escrow', 'vault', 'jetton_wallet', 'wallet', 'other'));
