-- The settler's own state: the leader's fencing token and the escrow releases in flight.
-- History table: _sqlx_migrations_settler (the ledger's and the indexer's are their own).

-- One row: the fencing token of the current leader. A settler that takes the leader lock
-- increments it; every write transaction of a settler carries its token in the session
-- setting `labelmint.settler_fence` and the triggers below refuse it when it is stale.
CREATE TABLE settler_leader (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    token     BIGINT      NOT NULL,
    holder    TEXT        NOT NULL,
    taken_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO settler_leader (token, holder) VALUES (0, '');

-- Refuses the write of a session whose `labelmint.settler_fence` is not the current token.
-- Sessions without the setting (the consensus engine, the API, the signer, the ledger's own
-- tests) are not settlers and pass. FOR SHARE: a takeover (UPDATE of the row) waits for the
-- writes in flight of the old leader and every later write of the old leader fails.
CREATE FUNCTION settler_check_fence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    claimed TEXT := current_setting('labelmint.settler_fence', true);
    current_token BIGINT;
BEGIN
    IF claimed IS NULL OR claimed = '' THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    SELECT token INTO current_token FROM settler_leader WHERE singleton FOR SHARE;
    IF current_token IS DISTINCT FROM claimed::BIGINT THEN
        RAISE EXCEPTION 'settler fencing token % is stale (the current leader holds %)',
            claimed, current_token USING ERRCODE = 'LM001';
    END IF;
    RETURN COALESCE(NEW, OLD);
END
$$;

-- Every money decision of the settler writes ledger_batches (form, sign, send, expire,
-- confirm) or settler_releases.
CREATE TRIGGER settler_fence BEFORE INSERT OR UPDATE OR DELETE ON ledger_batches
    FOR EACH ROW EXECUTE FUNCTION settler_check_fence();

-- An escrow release the settler decided on: the exact request (seqno, valid_until, amount),
-- written BEFORE the signer is asked, so that a re-request after a crash is byte-identical
-- (the signer's journal returns the same message) and never a second content for a seqno.
CREATE TABLE settler_releases (
    escrow      TEXT PRIMARY KEY,
    project_id  NUMERIC(20, 0) NOT NULL,
    seqno       BIGINT  NOT NULL CHECK (seqno >= 0),
    valid_until BIGINT  NOT NULL CHECK (valid_until >= 0),
    amount      NUMERIC NOT NULL CHECK (amount > 0),
    -- The indexer saw the escrow's seqno consumed by this release (ev_release or its
    -- bounce); kept until valid_until has passed, since the signer counts a signed release
    -- as live until then.
    landed      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER settler_fence BEFORE INSERT OR UPDATE OR DELETE ON settler_releases
    FOR EACH ROW EXECUTE FUNCTION settler_check_fence();
