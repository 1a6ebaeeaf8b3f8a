-- Payout items (issue 13): a batch pays each worker ONE transfer per settlement. A payout item
-- groups every approved earning of one worker (same currency, same payout address) that a batch
-- takes; it has its own id, never reused, which is the vault's item id (the payout comment
-- "LabelMint #<id>", the TEP-74 query id of a jetton payout, the id in ev_payout_bounced and
-- in the indexer's jetton_transfer_bounced). Before this migration the item id was the earning
-- id (one item per earning); those items are kept as `legacy` rows with exactly that id.
--
-- Also here: the correction of a worker's payout address (recorded: who, when, old, new),
-- payout holds (an address that bounced is not paid again by itself), and a TON vault's gas
-- top-ups posted as money the vault holds (entry kind 'gas_topped_up').
--
-- Append-only: never edit this file once applied; add a new migration.

-- Item ids: the on-chain comment carries at most 17 digits. New ids start above every legacy
-- id (set below), so an id names one item forever.
CREATE SEQUENCE ledger_payout_item_id_seq AS BIGINT MINVALUE 1 MAXVALUE 99999999999999999 NO CYCLE;

-- One transfer of a batch. Content never changes after insert (trigger below); `outcome` moves
-- pending -> paid | expired, paid -> bounced; `bounceable` is decided once, before signing.
CREATE TABLE ledger_payout_items (
    id              BIGINT NOT NULL CHECK (id > 0 AND id < 100000000000000000),
    batch_id        BIGINT NOT NULL REFERENCES ledger_batches (id),
    -- Position in the vault request's item list (0-based).
    position        INTEGER NOT NULL CHECK (position BETWEEN 0 AND 249),
    worker          TEXT NOT NULL CHECK (length(worker) BETWEEN 1 AND 256),
    -- The transfer's destination: the payout address of every earning of the item.
    payout_address  TEXT NOT NULL CHECK (payout_address ~ '^0:[0-9a-f]{64}$'),
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    -- The sum of its earnings (checked at commit, trigger below).
    amount          NUMERIC(39, 0) NOT NULL CHECK (amount > 0 AND amount < 1329227995784915872903807060280344576),
    earning_count   INTEGER NOT NULL CHECK (earning_count >= 1),
    -- The vault item's bounceable flag (TON payouts): NULL until the settler decides it, before
    -- the batch is signed; then fixed (the signed bytes must never change).
    bounceable      BOOLEAN,
    outcome         TEXT NOT NULL DEFAULT 'pending'
                    CHECK (outcome IN ('pending', 'paid', 'expired', 'bounced')),
    -- A bounced item: the transaction that showed it, what came back, why.
    bounce_tx       BYTEA CHECK (octet_length(bounce_tx) = 32),
    bounced_amount  NUMERIC(39, 0),
    bounce_reason   TEXT CHECK (bounce_reason IN ('payout_bounced', 'recipient_wallet_refused')),
    -- Made by this migration from an item of the earlier scheme (id = the earning's id; an
    -- earning that was re-batched has several such rows under one id).
    legacy          BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (batch_id, position),
    CHECK ((outcome = 'bounced') = (bounce_reason IS NOT NULL))
);

-- The earlier scheme's items, one per (batch, earning), with the earning's id as item id.
INSERT INTO ledger_payout_items (id, batch_id, position, worker, payout_address, currency, amount,
        earning_count, bounceable, outcome, bounce_tx, bounced_amount, bounce_reason, legacy)
    SELECT e.id, i.batch_id, i.position, e.worker, e.payout_address, e.currency, e.amount, 1,
           false, i.outcome, i.bounce_tx, i.bounced_amount, i.bounce_reason, true
    FROM ledger_batch_items i JOIN ledger_earnings e ON e.id = i.earning_id;

DO $$
DECLARE
    top BIGINT;
BEGIN
    SELECT max(id) INTO top FROM ledger_payout_items;
    IF top IS NOT NULL THEN
        PERFORM setval('ledger_payout_item_id_seq', top);
    END IF;
END $$;

-- An id names one item (legacy ids may repeat: the earlier scheme reused an earning's id in
-- each batch that took it).
CREATE UNIQUE INDEX ledger_payout_items_id_unique ON ledger_payout_items (id) WHERE NOT legacy;
-- By id, newest batch first (the signer's lookup of an item: the newest of a legacy id's rows).
CREATE INDEX ledger_payout_items_by_id ON ledger_payout_items (id, batch_id);

-- The earnings of a batch: each row is one earning's attempt, grouped into the item at its
-- position (several earnings share a position now).
ALTER TABLE ledger_batch_items DROP CONSTRAINT ledger_batch_items_batch_id_position_key;
CREATE INDEX ledger_batch_items_item ON ledger_batch_items (batch_id, position);
ALTER TABLE ledger_batch_items ADD CONSTRAINT ledger_batch_items_payout_item
    FOREIGN KEY (batch_id, position) REFERENCES ledger_payout_items (batch_id, position);

-- Only this migration writes legacy rows.
CREATE FUNCTION ledger_payout_item_insert_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.legacy THEN
        RAISE EXCEPTION 'payout item %: legacy items are only the migration''s', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_payout_items_insert BEFORE INSERT ON ledger_payout_items
    FOR EACH ROW EXECUTE FUNCTION ledger_payout_item_insert_check();

-- Content never changes; the outcome moves forward; bounceable is decided once.
CREATE FUNCTION ledger_payout_item_update_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.batch_id <> OLD.batch_id OR NEW.position <> OLD.position
       OR NEW.worker <> OLD.worker OR NEW.payout_address <> OLD.payout_address
       OR NEW.currency <> OLD.currency OR NEW.amount <> OLD.amount
       OR NEW.earning_count <> OLD.earning_count OR NEW.legacy <> OLD.legacy THEN
        RAISE EXCEPTION 'payout item %: only its outcome, bounce evidence and bounceable flag may change', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF OLD.bounceable IS NOT NULL AND NEW.bounceable IS DISTINCT FROM OLD.bounceable THEN
        RAISE EXCEPTION 'payout item %: bounceable is decided once', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.outcome <> OLD.outcome AND NOT (
           (OLD.outcome = 'pending' AND NEW.outcome IN ('paid', 'expired'))
        OR (OLD.outcome = 'paid' AND NEW.outcome = 'bounced')) THEN
        RAISE EXCEPTION 'payout item %: illegal outcome % -> %', OLD.id, OLD.outcome, NEW.outcome
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_payout_items_update BEFORE UPDATE ON ledger_payout_items
    FOR EACH ROW EXECUTE FUNCTION ledger_payout_item_update_check();

-- An earning joins an item of its own worker, address and currency (one check per statement,
-- over every row it inserted).
CREATE FUNCTION ledger_batch_item_earning_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT n.earning_id, n.batch_id, n.position INTO bad
        FROM new_attempts n JOIN ledger_earnings e ON e.id = n.earning_id
        LEFT JOIN ledger_payout_items p ON p.batch_id = n.batch_id AND p.position = n.position
        WHERE p.batch_id IS NULL OR p.worker <> e.worker
           OR p.payout_address <> e.payout_address OR p.currency <> e.currency
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'earning % does not belong to the payout item at (batch %, position %): another worker, address or currency',
            bad.earning_id, bad.batch_id, bad.position USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_batch_items_earning AFTER INSERT ON ledger_batch_items
    REFERENCING NEW TABLE AS new_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_batch_item_earning_check();

-- At COMMIT: an item is exactly its earnings (count and sum), and each earning's attempt has
-- the item's outcome.
CREATE FUNCTION ledger_payout_item_sum_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n INTEGER;
    s NUMERIC;
    odd INTEGER;
    cur RECORD;
BEGIN
    SELECT * INTO cur FROM ledger_payout_items WHERE batch_id = NEW.batch_id AND position = NEW.position;
    SELECT count(*), COALESCE(sum(e.amount), 0),
           count(*) FILTER (WHERE i.outcome <> cur.outcome)
        INTO n, s, odd
        FROM ledger_batch_items i JOIN ledger_earnings e ON e.id = i.earning_id
        WHERE i.batch_id = NEW.batch_id AND i.position = NEW.position;
    IF n <> cur.earning_count OR s <> cur.amount THEN
        RAISE EXCEPTION 'payout item % has % earning(s) summing to %; it says % summing to %',
            cur.id, n, s, cur.earning_count, cur.amount USING ERRCODE = 'check_violation';
    END IF;
    IF odd > 0 THEN
        RAISE EXCEPTION 'payout item % is %, % of its earnings'' attempts are not',
            cur.id, cur.outcome, odd USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_payout_items_sum AFTER INSERT OR UPDATE OF outcome ON ledger_payout_items
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_payout_item_sum_check();

-- Payout holds: a payout to (worker, currency, address) came back (ev_payout_bounced, or the
-- recipient's jetton wallet refused it); batches skip that worker's earnings to that address
-- until the hold is released (the same address is known to work again) or the earnings get a
-- corrected address. At most one active hold per (worker, currency, address).
CREATE TABLE ledger_payout_holds (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker          TEXT NOT NULL,
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    payout_address  TEXT NOT NULL CHECK (payout_address ~ '^0:[0-9a-f]{64}$'),
    reason          TEXT NOT NULL CHECK (reason IN ('payout_bounced', 'recipient_wallet_refused')),
    -- The item that came back and the transaction that showed it.
    item_id         BIGINT NOT NULL,
    bounce_tx       BYTEA NOT NULL CHECK (octet_length(bounce_tx) = 32),
    held_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    released_at     TIMESTAMPTZ,
    released_by     TEXT CHECK (released_by IS NULL OR length(released_by) BETWEEN 1 AND 256),
    CHECK ((released_at IS NULL) = (released_by IS NULL))
);
CREATE UNIQUE INDEX ledger_payout_holds_active ON ledger_payout_holds (worker, currency, payout_address)
    WHERE released_at IS NULL;

CREATE FUNCTION ledger_payout_hold_update_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.worker <> OLD.worker OR NEW.currency <> OLD.currency
       OR NEW.payout_address <> OLD.payout_address OR NEW.reason <> OLD.reason
       OR NEW.item_id <> OLD.item_id OR NEW.bounce_tx <> OLD.bounce_tx
       OR NEW.held_at <> OLD.held_at OR OLD.released_at IS NOT NULL THEN
        RAISE EXCEPTION 'payout hold %: only its release may be written, once', OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_payout_holds_update BEFORE UPDATE ON ledger_payout_holds
    FOR EACH ROW EXECUTE FUNCTION ledger_payout_hold_update_check();
CREATE TRIGGER ledger_payout_holds_no_delete BEFORE DELETE ON ledger_payout_holds
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_append_only();

-- Address corrections: who changed a worker's payout address, when, to what, and for which
-- earnings (each with its old address). Append-only.
CREATE TABLE ledger_address_corrections (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker          TEXT NOT NULL CHECK (length(worker) BETWEEN 1 AND 256),
    currency        TEXT NOT NULL REFERENCES ledger_currencies (code),
    new_address     TEXT NOT NULL CHECK (new_address ~ '^0:[0-9a-f]{64}$'),
    corrected_by    TEXT NOT NULL CHECK (length(corrected_by) BETWEEN 1 AND 256),
    reason          TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),
    corrected_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The writing transaction: an earning's address may change only in the transaction that
    -- recorded the correction (trigger below).
    xid             xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX ledger_address_corrections_worker ON ledger_address_corrections (worker, currency);

CREATE TABLE ledger_address_correction_earnings (
    correction_id   BIGINT NOT NULL REFERENCES ledger_address_corrections (id),
    earning_id      BIGINT NOT NULL REFERENCES ledger_earnings (id),
    old_address     TEXT NOT NULL CHECK (old_address ~ '^0:[0-9a-f]{64}$'),
    PRIMARY KEY (correction_id, earning_id)
);
CREATE INDEX ledger_address_correction_earnings_earning ON ledger_address_correction_earnings (earning_id);

CREATE TRIGGER ledger_address_corrections_append_only BEFORE UPDATE OR DELETE ON ledger_address_corrections
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_append_only();
CREATE TRIGGER ledger_address_correction_earnings_append_only BEFORE UPDATE OR DELETE ON ledger_address_correction_earnings
    FOR EACH ROW EXECUTE FUNCTION ledger_journal_append_only();

-- The earning's state machine, as before, plus: its payout address may change while it is
-- approved (in no live batch), only in the transaction that recorded the correction of exactly
-- that earning from exactly that old address to exactly that new one.
CREATE OR REPLACE FUNCTION ledger_earning_transition_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id <> OLD.id OR NEW.submission_key <> OLD.submission_key OR NEW.worker <> OLD.worker
       OR NEW.project_id <> OLD.project_id
       OR NEW.currency <> OLD.currency OR NEW.amount <> OLD.amount
       OR NEW.decision_id <> OLD.decision_id OR NEW.approved_at <> OLD.approved_at THEN
        RAISE EXCEPTION 'earning %: only its state may change', OLD.id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.payout_address <> OLD.payout_address AND NOT (
           OLD.state = 'approved' AND NEW.state = 'approved'
       AND EXISTS (SELECT 1 FROM ledger_address_correction_earnings c
                   JOIN ledger_address_corrections h ON h.id = c.correction_id
                   WHERE c.earning_id = OLD.id AND c.old_address = OLD.payout_address
                     AND h.new_address = NEW.payout_address AND h.worker = OLD.worker
                     AND h.currency = OLD.currency AND h.xid = pg_current_xact_id())) THEN
        RAISE EXCEPTION 'earning %: only its state may change (its payout address only by a recorded correction while it is approved)', OLD.id
            USING ERRCODE = 'check_violation';
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

-- A TON vault's gas top-ups are money it pays from (ledger/src/ingest.rs): a new entry kind.
ALTER TABLE ledger_journal_entries DROP CONSTRAINT ledger_journal_entries_kind_check;
ALTER TABLE ledger_journal_entries ADD CONSTRAINT ledger_journal_entries_kind_check
    CHECK (kind IN ('approve', 'revoke', 'deposit', 'release', 'release_bounced', 'vault_funded',
                    'refund', 'refund_bounced', 'batch_executed', 'payout_bounced',
                    'jetton_transfer_bounced', 'jetton_recovered', 'gas_topped_up'));

-- form_batch: the approved earnings of a currency by worker and address.
CREATE INDEX ledger_earnings_approved_worker ON ledger_earnings (currency, worker, payout_address)
    WHERE state = 'approved';

-- The payout signer reads them (SELECT only; see 20261130120002_signer_role.sql).
GRANT SELECT ON ledger_payout_items, ledger_payout_holds, ledger_address_corrections,
    ledger_address_correction_earnings TO labelmint_signer;
