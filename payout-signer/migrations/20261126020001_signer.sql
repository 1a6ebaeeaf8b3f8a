-- The payout signer's own tables (prefix signer_). Nothing else writes them.

-- The allowlist of contracts the signer may sign for (`payout-signer register`).
CREATE TABLE signer_contracts (
    address              TEXT PRIMARY KEY,              -- raw "<wc>:<64 hex>"
    kind                 TEXT NOT NULL CHECK (kind IN ('escrow', 'vault')),
    project_id           NUMERIC(20, 0),                -- escrow: the ledger's project
    currency             TEXT,                          -- vault: what it pays out (TON, USD, ...)
    vault_timeout        BIGINT,                        -- vault: its replay timeout, seconds
    onchain_limit        NUMERIC(39, 0),                -- vault: its rolling window limit (optional)
    registered_at        BIGINT NOT NULL,
    CHECK ((kind = 'escrow' AND project_id IS NOT NULL AND currency IS NULL)
        OR (kind = 'vault' AND currency IS NOT NULL AND vault_timeout IS NOT NULL
            AND vault_timeout > 0 AND project_id IS NULL))
);

-- One row: which instance may sign (a fencing token written under the advisory lock) and
-- the freeze switch.
CREATE TABLE signer_state (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    holder        TEXT,
    holder_since  BIGINT,
    frozen        BOOLEAN NOT NULL DEFAULT false,
    freeze_reason TEXT
);
INSERT INTO signer_state (id) VALUES (1);

-- The anti-double-sign journal: one content per (contract, seqno | query id), ever.
CREATE TABLE signer_journal (
    contract      TEXT NOT NULL,
    key_kind      TEXT NOT NULL CHECK (key_kind IN ('seqno', 'query_id')),
    key           NUMERIC(20, 0) NOT NULL,
    request_kind  TEXT NOT NULL CHECK (request_kind IN ('escrow_release', 'escrow_close', 'vault_batch')),
    content_hash  BYTEA NOT NULL CHECK (length(content_hash) = 32),
    signature     BYTEA NOT NULL CHECK (length(signature) = 64),
    boc           BYTEA NOT NULL,
    amount        NUMERIC(39, 0) NOT NULL,
    currency      TEXT,
    valid_until   BIGINT NOT NULL,
    signed_at     BIGINT NOT NULL,
    PRIMARY KEY (contract, key_kind, key)
);
-- Messages are stored as they are (no compression work in the signing transaction).
ALTER TABLE signer_journal ALTER COLUMN boc SET STORAGE EXTERNAL;
CREATE INDEX signer_journal_releases ON signer_journal (contract, valid_until)
    WHERE request_kind = 'escrow_release';

-- Every payout item ever signed (the second line of defence against paying an item twice,
-- and the source of the rolling caps).
CREATE TABLE signer_items (
    item_id      BIGINT NOT NULL CHECK (item_id >= 0 AND item_id < 100000000000000000),
    contract     TEXT NOT NULL,
    query_id     NUMERIC(20, 0) NOT NULL,
    worker       TEXT NOT NULL,
    amount       NUMERIC(39, 0) NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    valid_until  BIGINT NOT NULL,
    signed_at    BIGINT NOT NULL,
    PRIMARY KEY (item_id, contract, query_id)
);
-- The per-worker rolling cap reads this index (the primary key serves lookups by item).
CREATE INDEX signer_items_by_worker ON signer_items (worker, currency, signed_at);

-- The audit log: append-only, hash-chained. hash = sha256(prev_hash || record), record is
-- the exact canonical JSON text that was hashed (no secrets).
CREATE TABLE signer_audit (
    seq        BIGINT PRIMARY KEY CHECK (seq > 0),
    prev_hash  BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash       BYTEA NOT NULL CHECK (length(hash) = 32),
    record     TEXT NOT NULL
);

-- Append-only: updates, deletes and truncation are refused (`audit verify` still detects an
-- edit made by someone who can disable the trigger).
CREATE FUNCTION signer_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signer_audit is append-only';
END;
$$;
CREATE TRIGGER signer_audit_no_update BEFORE UPDATE OR DELETE ON signer_audit
    FOR EACH ROW EXECUTE FUNCTION signer_audit_append_only();
CREATE TRIGGER signer_audit_no_truncate BEFORE TRUNCATE ON signer_audit
    FOR EACH STATEMENT EXECUTE FUNCTION signer_audit_append_only();

-- Rolling-cap accounting per currency and minute, written in the signing transaction. Windows
-- are read conservatively (the partly covered oldest minute counts whole), so a cap is never
-- exceeded. Per-worker sums come from signer_items (index signer_items_by_worker).
CREATE TABLE signer_volume (
    currency  TEXT NOT NULL,
    minute    BIGINT NOT NULL,          -- unix time / 60
    amount    NUMERIC(39, 0) NOT NULL,
    PRIMARY KEY (currency, minute)
);

