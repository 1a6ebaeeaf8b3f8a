-- The settler's jetton recoveries: the last `jetton_recover` it sent per contract (a jetton
-- vault or escrow whose wallet holds tokens a locked recipient's wallet refused), written
-- BEFORE the relayer's external goes out, so that a restarted or new leader does not send a
-- second one while the first may still land (the contract would refuse it with
-- ERR_RECOVERY_PENDING, but the relayer would pay the gas).
CREATE TABLE settler_recoveries (
    contract      TEXT PRIMARY KEY CHECK (contract ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    -- 'vault' or 'escrow'.
    kind          TEXT    NOT NULL CHECK (kind IN ('vault', 'escrow')),
    -- The claimed extra X (the ledger's unbooked balance when it was sent).
    amount        NUMERIC(40, 0) NOT NULL CHECK (amount > 0),
    -- Chain time it was sent, and the relayer external's valid_until.
    sent_at       BIGINT  NOT NULL CHECK (sent_at >= 0),
    valid_until   BIGINT  NOT NULL CHECK (valid_until >= 0),
    -- Indexed recovery events (ev_jetton_recovered / ev_jetton_recovery_failed) of the contract
    -- before it: one more means it was answered.
    events_before BIGINT  NOT NULL CHECK (events_before >= 0),
    -- The contract's recovery counter before it (vault: recovery_nonce; escrow: recoveries):
    -- unchanged after valid_until means it never reached the contract.
    nonce_before  NUMERIC(20, 0) NOT NULL CHECK (nonce_before >= 0),
    -- NULL while in flight; then 'recovered' (booked something), 'failed' (answered, booked
    -- nothing: ev_jetton_recovery_failed, or ev_jetton_recovered with 0), 'lost'
    -- (never reached the contract) or 'timed_out' (RECOVERY_TIMEOUT passed in chain time).
    outcome       TEXT CHECK (outcome IN ('recovered', 'failed', 'lost', 'timed_out')),
    -- Attempts for this contract so far.
    attempts      BIGINT  NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER settler_fence BEFORE INSERT OR UPDATE OR DELETE ON settler_recoveries
    FOR EACH ROW EXECUTE FUNCTION settler_check_fence();
