-- Project lifecycle: active -> closing -> closed (issue 11, point 8).
--
--   active   takes approvals; the signer signs releases, never a close.
--   closing  asked for by the client or an admin (Ledger::request_close): no new earnings; the
--            signer signs the final release of what is approved and unreleased, then the close.
--            One way: a signed close may be in flight, so the project never goes back to active.
--   closed   the escrow emitted ev_closed (a signed close, or the client's refund at or after the
--            deadline, which closes an active escrow too): the chain is the truth.

ALTER TABLE ledger_projects
    ADD COLUMN state TEXT NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'closing', 'closed')),
    -- Who asked for the close ('client:<addr>', 'admin:<name>', ...) and when.
    ADD COLUMN close_requested_by TEXT
        CHECK (close_requested_by IS NULL OR length(close_requested_by) BETWEEN 1 AND 256),
    ADD COLUMN close_requested_at TIMESTAMPTZ,
    -- The ev_closed that closed it.
    ADD COLUMN closed_tx BYTEA CHECK (octet_length(closed_tx) = 32),
    ADD COLUMN closed_at_chain BIGINT,
    ADD COLUMN state_changed_at TIMESTAMPTZ NOT NULL DEFAULT now();

-- Content never changes; the state moves forward only; the close request is written once, with
-- the move to closing.
CREATE FUNCTION ledger_project_transition_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.project_id <> OLD.project_id OR NEW.escrow <> OLD.escrow
       OR NEW.currency <> OLD.currency OR NEW.client <> OLD.client
       OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'project %: only its state may change', OLD.project_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.state <> OLD.state AND NOT (
           (OLD.state = 'active' AND NEW.state IN ('closing', 'closed'))
        OR (OLD.state = 'closing' AND NEW.state = 'closed')) THEN
        RAISE EXCEPTION 'project %: illegal transition % -> %', OLD.project_id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    IF (OLD.close_requested_by IS NOT NULL OR OLD.close_requested_at IS NOT NULL)
       AND (NEW.close_requested_by IS DISTINCT FROM OLD.close_requested_by
            OR NEW.close_requested_at IS DISTINCT FROM OLD.close_requested_at) THEN
        RAISE EXCEPTION 'project %: the close request is recorded once', OLD.project_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_projects_transition BEFORE UPDATE ON ledger_projects
    FOR EACH ROW EXECUTE FUNCTION ledger_project_transition_check();

-- New earnings only while the project is active. The project row is read FOR SHARE: a close
-- request (an UPDATE of that row) waits for approvals in flight, and an approval after it sees
-- 'closing'. So once request_close has committed, the set of approved earnings only shrinks,
-- and what the signer reads when it decides a close is final. A retried approval of a
-- submission that already has its earning passes (approve_earning answers it idempotently).
CREATE FUNCTION ledger_earning_project_active_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s TEXT;
BEGIN
    SELECT state INTO s FROM ledger_projects WHERE project_id = NEW.project_id FOR SHARE;
    IF s IS DISTINCT FROM 'active'
       AND NOT EXISTS (SELECT 1 FROM ledger_earnings WHERE submission_key = NEW.submission_key) THEN
        RAISE EXCEPTION 'project % is %: it takes no new earnings', NEW.project_id, s
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_earnings_project_active';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ledger_earnings_project_active BEFORE INSERT ON ledger_earnings
    FOR EACH ROW EXECUTE FUNCTION ledger_earning_project_active_check();
