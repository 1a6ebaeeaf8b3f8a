-- LabelMint Pay earnings ledger. Append-only: never edit an applied migration, add a new one.
-- History table: _sqlx_migrations_ledger (the crate's own; see ledger/src/lib.rs).
--
-- Conventions (the indexer's, so joins with its tables need no conversion)
--   * Addresses are TEXT in raw form, lowercase: '<workchain>:<64 hex>'.
--   * Amounts are NUMERIC(39,0) (u128) in the ledger's own tables; journal line amounts are signed
--     NUMERIC(40,0) (debit > 0, credit < 0). Never floats.
--   * 64-bit chain ids (project ids, query ids) are NUMERIC(20,0); payout item ids (= earning
--     ids) are BIGINT below 10^17, the on-chain limit of the payout comment's digits.
--   * Every rule that protects money is enforced here as well as in Rust: CHECKs, a partial
--     unique index, state-transition triggers, a deferred balance trigger, append-only journal.

-- Currencies: 'TON' (jetton_master NULL) or a jetton ('USD' with its master's raw address).
CREATE TABLE ledger_currencies (
    code            TEXT PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9]{1,11}$'),
    decimals        SMALLINT NOT NULL CHECK (decimals BETWEEN 0 AND 30),
    jetton_master   TEXT UNIQUE CHECK (jetton_master ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One escrow per project, as on chain.
CREATE TABLE ledger_projects (
    project_id      NUMERIC(20, 0) PRIMARY KEY CHECK (project_id >= 0 AND project_id < 18446744073709551616),
    escrow          TEXT NOT NULL UNIQUE CHECK (escrow ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    client          TEXT NOT NULL CHECK (client ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One payout vault per currency.
CREATE TABLE ledger_vaults (
    currency        TEXT PRIMARY KEY REFERENCES ledger_currencies (code),
    address         TEXT NOT NULL UNIQUE CHECK (address ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    -- The vault's replay timeout (seconds), when known: a batch's valid_until must then cover
    -- the whole time the vault could accept it (created_at + timeout - 1).
    timeout         BIGINT CHECK (timeout > 0 AND timeout < 4294967296),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Payout item ids: the on-chain comment carries at most 17 digits.
CREATE SEQUENCE ledger_earning_id_seq AS BIGINT MINVALUE 1 MAXVALUE 99999999999999999 NO CYCLE;

-- Approved earnings. One row per consensus submission (submission_key), never deleted; the
-- content columns never change after insert (trigger below); only `state` moves.
CREATE TABLE ledger_earnings (
    id              BIGINT PRIMARY KEY DEFAULT nextval('ledger_earning_id_seq')
                    CHECK (id > 0 AND id < 100000000000000000),
    submission_key  TEXT NOT NULL UNIQUE CHECK (length(submission_key) BETWEEN 1 AND 512),
    worker          TEXT NOT NULL CHECK (length(worker) BETWEEN 1 AND 256),
    -- TON payouts must go to the basechain (vault exit code 317): workchain 0 only.
    payout_address  TEXT NOT NULL CHECK (payout_address ~ '^0:[0-9a-f]{64}$'),
    project_id      NUMERIC(20, 0) NOT NULL REFERENCES ledger_projects (project_id),
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    amount          NUMERIC(39, 0) NOT NULL CHECK (amount > 0 AND amount < 340282366920938463463374607431768211456),
    decision_id     TEXT NOT NULL CHECK (length(decision_id) BETWEEN 1 AND 512),
    approved_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    state           TEXT NOT NULL DEFAULT 'approved'
                    CHECK (state IN ('approved', 'batched', 'signed', 'sent', 'confirmed', 'revoked')),
    state_changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER SEQUENCE ledger_earning_id_seq OWNED BY ledger_earnings.id;
-- form_batch: the oldest approved earnings of a currency.
CREATE INDEX ledger_earnings_approved ON ledger_earnings (currency, approved_at, id) WHERE state = 'approved';
CREATE INDEX ledger_earnings_project ON ledger_earnings (project_id);
CREATE INDEX ledger_earnings_worker ON ledger_earnings (worker);

-- The project's currency is the earning's currency.
CREATE FUNCTION ledger_earning_currency_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM ledger_projects p
                   WHERE p.project_id = NEW.project_id AND p.currency = NEW.currency) THEN
        RAISE EXCEPTION 'earning currency % is not the currency of project %', NEW.currency, NEW.project_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_earnings_currency BEFORE INSERT ON ledger_earnings
    FOR EACH ROW EXECUTE FUNCTION ledger_earning_currency_check();

-- Later re-estimates of a submission: recorded, never applied to a paid earning (issue 6).
CREATE TABLE ledger_reestimates (
    earning_id      BIGINT NOT NULL REFERENCES ledger_earnings (id),
    decision_id     TEXT NOT NULL CHECK (length(decision_id) BETWEEN 1 AND 512),
    -- The amount the re-estimate would have approved (0: nothing).
    amount          NUMERIC(39, 0) NOT NULL CHECK (amount >= 0),
    note            TEXT NOT NULL DEFAULT '',
    -- The earning's state when the re-estimate was recorded.
    earning_state   TEXT NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (earning_id, decision_id)
);

-- Payout batches: one signed vault request each (query id unique per vault, forever).
CREATE TABLE ledger_batches (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    vault           TEXT NOT NULL REFERENCES ledger_vaults (address),
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    query_id        NUMERIC(20, 0) NOT NULL CHECK (query_id >= 0 AND query_id < 18446744073709551616),
    -- Unix seconds, chain time: the request's created_at and the last second it can land.
    created_at      BIGINT NOT NULL CHECK (created_at >= 0 AND created_at < 4294967296),
    valid_until     BIGINT NOT NULL CHECK (valid_until >= created_at AND valid_until < 4294967296),
    state           TEXT NOT NULL DEFAULT 'batched'
                    CHECK (state IN ('batched', 'signed', 'sent', 'confirmed', 'expired')),
    item_count      INTEGER NOT NULL CHECK (item_count BETWEEN 1 AND 250),
    total           NUMERIC(39, 0) NOT NULL CHECK (total > 0),
    -- Evidence of each step.
    signed_hash     BYTEA CHECK (octet_length(signed_hash) = 32),
    sent_hash       BYTEA CHECK (octet_length(sent_hash) = 32),
    confirmed_tx    BYTEA CHECK (octet_length(confirmed_tx) = 32),
    confirmed_lt    BIGINT,
    confirmed_now   BIGINT,
    expired_at_chain BIGINT,
    formed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    state_changed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (vault, query_id)
);
CREATE INDEX ledger_batches_live ON ledger_batches (currency, state) WHERE state IN ('batched', 'signed', 'sent');

-- Batch items: every attempt is kept. outcome 'pending' (in a live batch) or 'paid' holds the
-- earning; 'expired' and 'bounced' released it. An earning is in at most ONE holding item.
CREATE TABLE ledger_batch_items (
    batch_id        BIGINT NOT NULL REFERENCES ledger_batches (id),
    earning_id      BIGINT NOT NULL REFERENCES ledger_earnings (id),
    -- Position in the vault request's item list (0-based).
    position        INTEGER NOT NULL CHECK (position BETWEEN 0 AND 249),
    outcome         TEXT NOT NULL DEFAULT 'pending'
                    CHECK (outcome IN ('pending', 'paid', 'expired', 'bounced')),
    bounce_tx       BYTEA,
    bounced_amount  NUMERIC(39, 0),
    PRIMARY KEY (batch_id, earning_id),
    UNIQUE (batch_id, position)
);
CREATE UNIQUE INDEX ledger_batch_items_one_live ON ledger_batch_items (earning_id)
    WHERE outcome IN ('pending', 'paid');
CREATE INDEX ledger_batch_items_earning ON ledger_batch_items (earning_id);

-- The state machines, enforced for every writer (the same tables as ledger/src/state.rs).
CREATE FUNCTION ledger_earning_transition_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.submission_key <> OLD.submission_key OR NEW.worker <> OLD.worker
       OR NEW.payout_address <> OLD.payout_address OR NEW.project_id <> OLD.project_id
       OR NEW.currency <> OLD.currency OR NEW.amount <> OLD.amount
       OR NEW.decision_id <> OLD.decision_id OR NEW.approved_at <> OLD.approved_at THEN
        RAISE EXCEPTION 'earning %: only its state may change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> OLD.state AND NOT (
           (OLD.state = 'approved' AND NEW.state IN ('batched', 'revoked'))
        OR (OLD.state = 'batched' AND NEW.state IN ('signed', 'confirmed', 'approved'))
        OR (OLD.state = 'signed' AND NEW.state IN ('sent', 'confirmed', 'approved'))
        OR (OLD.state = 'sent' AND NEW.state IN ('confirmed', 'approved'))
        OR (OLD.state = 'confirmed' AND NEW.state = 'approved')) THEN
        RAISE EXCEPTION 'earning %: illegal transition % -> %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_earnings_transition BEFORE UPDATE ON ledger_earnings
    FOR EACH ROW EXECUTE FUNCTION ledger_earning_transition_check();

CREATE FUNCTION ledger_batch_transition_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.vault <> OLD.vault OR NEW.currency <> OLD.currency
       OR NEW.query_id <> OLD.query_id OR NEW.created_at <> OLD.created_at
       OR NEW.valid_until <> OLD.valid_until OR NEW.item_count <> OLD.item_count
       OR NEW.total <> OLD.total THEN
        RAISE EXCEPTION 'batch %: only its state and evidence may change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> OLD.state AND NOT (
           (OLD.state = 'batched' AND NEW.state IN ('signed', 'confirmed', 'expired'))
        OR (OLD.state = 'signed' AND NEW.state IN ('sent', 'confirmed', 'expired'))
        OR (OLD.state = 'sent' AND NEW.state IN ('confirmed', 'expired'))) THEN
        RAISE EXCEPTION 'batch %: illegal transition % -> %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_batches_transition BEFORE UPDATE ON ledger_batches
    FOR EACH ROW EXECUTE FUNCTION ledger_batch_transition_check();

-- The double-entry journal. An entry is a set of lines that sums to zero per currency; entries
-- are idempotent by their external key ('approve:<earning>', 'chain:<tx hash hex>:<msg idx>');
-- nothing is ever updated or deleted (corrections are new entries).
CREATE TABLE ledger_journal_entries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('approve', 'revoke', 'deposit', 'release',
                        'release_bounced', 'vault_funded', 'refund', 'refund_bounced',
                        'batch_executed', 'payout_bounced')),
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    project_id      NUMERIC(20, 0),
    earning_id      BIGINT,
    batch_id        BIGINT,
    -- Chain facts: the event that justifies the entry.
    tx_hash         BYTEA CHECK (octet_length(tx_hash) = 32),
    msg_idx         INTEGER,
    lt              BIGINT,
    chain_time      BIGINT,
    memo            TEXT NOT NULL DEFAULT '',
    posted_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ledger_journal_entries_kind ON ledger_journal_entries (currency, kind);

CREATE TABLE ledger_journal_lines (
    entry_id        BIGINT NOT NULL REFERENCES ledger_journal_entries (id),
    line_no         SMALLINT NOT NULL CHECK (line_no >= 0),
    -- '<kind>:<key>': escrow:<project>, transit:<project>, client:<project>, vault:<currency>,
    -- treasury:<currency>, fees:<currency>, payable:<worker>, bounce_costs:<currency>,
    -- funders:<currency>, suspense:<currency>.
    account         TEXT NOT NULL CHECK (account ~ '^[a-z_]+:.+$'),
    account_kind    TEXT NOT NULL GENERATED ALWAYS AS (split_part(account, ':', 1)) STORED,
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    -- Debit > 0, credit < 0.
    amount          NUMERIC(40, 0) NOT NULL CHECK (amount <> 0),
    PRIMARY KEY (entry_id, line_no)
);
CREATE INDEX ledger_journal_lines_account ON ledger_journal_lines (account, currency);
CREATE INDEX ledger_journal_lines_kind ON ledger_journal_lines (currency, account_kind);

-- Balanced per entry and currency, checked at COMMIT (deferred): an entry that does not sum to
-- zero, or has fewer than two lines, makes the whole transaction fail.
CREATE FUNCTION ledger_entry_balance_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    e BIGINT;
    bad RECORD;
    n INTEGER;
BEGIN
    IF TG_TABLE_NAME = 'ledger_journal_entries' THEN
        e := NEW.id;
    ELSE
        e := NEW.entry_id;
    END IF;
    SELECT count(*) INTO n FROM ledger_journal_lines WHERE entry_id = e;
    IF n < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s); at least two are needed', e, n
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, sum(amount) AS s INTO bad FROM ledger_journal_lines
        WHERE entry_id = e GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is unbalanced in %: lines sum to %', e, bad.currency, bad.s
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_journal_entries_balanced AFTER INSERT ON ledger_journal_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balance_check();
CREATE CONSTRAINT TRIGGER ledger_journal_lines_balanced AFTER INSERT ON ledger_journal_lines
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balance_check();

CREATE FUNCTION ledger_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER ledger_journal_entries_append_only BEFORE UPDATE OR DELETE ON ledger_journal_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_append_only();
CREATE TRIGGER ledger_journal_lines_append_only BEFORE UPDATE OR DELETE ON ledger_journal_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_append_only();
CREATE TRIGGER ledger_journal_entries_no_truncate BEFORE TRUNCATE ON ledger_journal_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_journal_append_only();
CREATE TRIGGER ledger_journal_lines_no_truncate BEFORE TRUNCATE ON ledger_journal_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_journal_append_only();

-- Every indexed event the ledger has taken in (posted, ignored or flagged): ingestion reads the
-- events it has not seen yet, so each is handled exactly once.
CREATE TABLE ledger_chain_events (
    tx_hash         BYTEA NOT NULL CHECK (octet_length(tx_hash) = 32),
    msg_idx         INTEGER NOT NULL,
    kind            TEXT NOT NULL,
    contract        TEXT NOT NULL,
    -- 'posted', 'ignored' (no money moved) or 'anomaly' (see ledger_anomalies).
    outcome         TEXT NOT NULL CHECK (outcome IN ('posted', 'ignored', 'anomaly')),
    entry_id        BIGINT REFERENCES ledger_journal_entries (id),
    ingested_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tx_hash, msg_idx)
);

-- Things a person must look at: a chain fact the ledger did not expect (an executed batch it
-- does not know or had expired, a bounce of an unknown item, totals that disagree).
CREATE TABLE ledger_anomalies (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    tx_hash         BYTEA,
    msg_idx         INTEGER,
    batch_id        BIGINT,
    earning_id      BIGINT,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
