-- LabelMint Pay indexer schema. Append-only: never edit an applied migration, add a new one.
--
-- Conventions
--   * Addresses are TEXT in raw form, lowercase: '<workchain>:<64 hex>' ('0:ab12...').
--   * Hashes (transaction, message, body, block) are BYTEA of 32 bytes.
--   * Logical times and block seqnos are BIGINT (TON lts stay far below 2^63; the indexer
--     refuses, rather than wraps, anything larger).
--   * Shard ids are BIGINT holding the u64 shard prefix bit pattern (0x8000000000000000, the
--     whole workchain, is stored as -9223372036854775808), as TON's own tools do.
--   * Amounts and 64-bit ids (query ids, project ids, payout item ids) are NUMERIC: exact
--     integers, never floats.
--   * Every row of a masterchain block is written in the same Postgres transaction as the
--     checkpoint; every table has a natural unique key so a replay inserts nothing.

-- The single checkpoint row: the last masterchain block whose rows are all committed.
CREATE TABLE checkpoint (
    id          BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    mc_seqno    BIGINT NOT NULL CHECK (mc_seqno >= 0),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Masterchain blocks (workchain -1) and the shard blocks each one committed.
CREATE TABLE blocks (
    workchain   INTEGER NOT NULL,
    shard       BIGINT  NOT NULL,
    seqno       BIGINT  NOT NULL CHECK (seqno >= 0),
    root_hash   BYTEA   NOT NULL CHECK (octet_length(root_hash) = 32),
    file_hash   BYTEA   NOT NULL CHECK (octet_length(file_hash) = 32),
    -- The masterchain block that committed this block (itself for a masterchain block).
    mc_seqno    BIGINT  NOT NULL,
    gen_utime   BIGINT,
    start_lt    BIGINT,
    end_lt      BIGINT,
    PRIMARY KEY (workchain, shard, seqno)
);
CREATE INDEX blocks_mc_seqno ON blocks (mc_seqno);

-- Accounts whose transactions are kept: escrows, vaults and their jetton wallets. The API and
-- the CLI insert rows; the indexer re-reads the table for every masterchain block, so a new
-- account is picked up without a restart. The indexer itself adds the jetton wallet an escrow
-- or vault announces (ev_jetton_wallet_learned), in the same transaction as the event.
CREATE TABLE watched_accounts (
    address     TEXT PRIMARY KEY CHECK (address ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    kind        TEXT NOT NULL CHECK (kind IN ('escrow', 'vault', 'jetton_wallet', 'other')),
    -- Escrows: their project. Vaults and jetton wallets: NULL.
    project_id  NUMERIC(20, 0),
    -- Jetton wallets: the escrow or vault that owns them.
    owner       TEXT,
    -- 'TON' or the jetton master's address.
    currency    TEXT,
    added_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE transactions (
    account             TEXT    NOT NULL,
    lt                  BIGINT  NOT NULL,
    hash                BYTEA   NOT NULL CHECK (octet_length(hash) = 32),
    -- The shard block holding it, and the masterchain block that committed that block.
    block_workchain     INTEGER NOT NULL,
    block_shard         BIGINT  NOT NULL,
    block_seqno         BIGINT  NOT NULL,
    mc_seqno            BIGINT  NOT NULL,
    now                 BIGINT  NOT NULL,
    prev_trans_hash     BYTEA   NOT NULL,
    prev_trans_lt       BIGINT  NOT NULL,
    orig_status         TEXT    NOT NULL,
    end_status          TEXT    NOT NULL,
    -- nanoTON.
    total_fees          NUMERIC NOT NULL,
    -- 'ordinary' or 'tick_tock'.
    tx_kind             TEXT    NOT NULL,
    -- NULL when the compute phase was skipped (then compute_skip_reason says why).
    compute_exit_code   INTEGER,
    compute_skip_reason TEXT,
    compute_success     BOOLEAN,
    gas_used            BIGINT,
    gas_fees            NUMERIC,
    -- NULL when there was no action phase.
    action_result_code  INTEGER,
    aborted             BOOLEAN NOT NULL,
    destroyed           BOOLEAN NOT NULL,
    out_msg_count       INTEGER NOT NULL,
    -- The transaction exactly as the chain has it.
    boc                 BYTEA   NOT NULL,
    PRIMARY KEY (account, lt)
);
CREATE UNIQUE INDEX transactions_hash ON transactions (hash);
-- "The latest transactions of this account" (the API's main read).
CREATE INDEX transactions_account_lt_desc ON transactions (account, lt DESC);
CREATE INDEX transactions_mc_seqno ON transactions (mc_seqno);

-- The in message (direction 'in', idx 0) and the out messages (direction 'out', idx = the
-- position in the transaction's out_msgs) of every kept transaction.
CREATE TABLE messages (
    tx_hash     BYTEA   NOT NULL REFERENCES transactions (hash) ON DELETE CASCADE,
    direction   TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    idx         INTEGER NOT NULL,
    msg_hash    BYTEA   NOT NULL CHECK (octet_length(msg_hash) = 32),
    -- 'int', 'ext_in' or 'ext_out'.
    msg_kind    TEXT    NOT NULL,
    -- NULL for external sources/destinations without an address (addr_none).
    src         TEXT,
    dst         TEXT,
    -- Internal messages only.
    value       NUMERIC,
    fwd_fee     NUMERIC,
    bounce      BOOLEAN,
    bounced     BOOLEAN,
    created_lt  BIGINT,
    created_at  BIGINT,
    -- The first 32 bits of the body, when it has that many (0xffffffff for bounces).
    op          BIGINT,
    body_hash   BYTEA   NOT NULL,
    PRIMARY KEY (tx_hash, direction, idx)
);
CREATE INDEX messages_msg_hash ON messages (msg_hash);

-- Escrow and vault events, decoded through labelmint-abi from external-out message bodies.
CREATE TABLE events (
    tx_hash         BYTEA   NOT NULL REFERENCES transactions (hash) ON DELETE CASCADE,
    -- The out message's idx.
    msg_idx         INTEGER NOT NULL,
    -- The emitting contract and, when it is watched, what it is.
    contract        TEXT    NOT NULL,
    contract_kind   TEXT,
    lt              BIGINT  NOT NULL,
    now             BIGINT  NOT NULL,
    mc_seqno        BIGINT  NOT NULL,
    -- The TL-B constructor: 'ev_deposit', 'ev_release', 'ev_payout_bounced', ...
    kind            TEXT    NOT NULL,
    -- The event's own project id (ev_vault_funded) or the escrow's, from watched_accounts.
    project_id      NUMERIC(20, 0),
    payout_item_id  NUMERIC(20, 0),
    query_id        NUMERIC(20, 0),
    -- The amount the event is about (deposit, release, refund, funding, batch total, bounce).
    amount          NUMERIC,
    -- The platform fee of an ev_release.
    fee             NUMERIC,
    -- The running figure after the event: deposited (ev_deposit), remaining budget (release,
    -- release/refund bounce, closed), the rolling window's use (ev_batch_executed).
    balance_after   NUMERIC,
    -- Every field, exactly as labelmint-abi's JSON form writes it (integers as strings).
    fields          JSONB   NOT NULL,
    PRIMARY KEY (tx_hash, msg_idx)
);
CREATE INDEX events_kind_project ON events (kind, project_id);
CREATE INDEX events_payout_item_id ON events (payout_item_id) WHERE payout_item_id IS NOT NULL;
CREATE INDEX events_contract_lt ON events (contract, lt DESC);

-- The latest known state of each watched account. Only moves forward in lt.
CREATE TABLE account_states (
    address      TEXT    PRIMARY KEY,
    balance      NUMERIC NOT NULL,
    status       TEXT    NOT NULL,
    last_lt      BIGINT  NOT NULL,
    last_tx_hash BYTEA,
    mc_seqno     BIGINT  NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
