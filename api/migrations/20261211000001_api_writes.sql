-- The status API's writes (issue 14, point 4): POST /v1/projects, /v1/projects/{id}/deposits,
-- /v1/projects/{id}/close, each with an Idempotency-Key.
-- The server does these writes as `labelmint_api_write` (SET ROLE at connect, api/src/db.rs),
-- which may do exactly them and nothing else:
--   * its own tables: the project metadata (api_projects), the idempotency records
--     (api_idempotency), the project id sequence (api_project_ids);
--   * a new project's escrow registration (api/src/escrow, shared with `labelmint project
--     create`): INSERT into signer_contracts and signer_audit (the allowlist and its audit
--     line), watched_accounts and ledger_projects;
--   * a close request: UPDATE of ledger_projects' state columns (the ledger's trigger checks
--     the transition);
--   * the reads these need (currencies, vaults, projects, the escrow's indexed state/events).
-- No DELETE or UPDATE anywhere else, no earnings, batches, journal, signer journal or keys.
-- Append-only: never edit this file once applied; add a new migration.

-- Project ids handed out by POST /v1/projects (never the clock). They start above every id
-- registered before (by `labelmint project create --id`); an id taken later by the CLI is
-- skipped by the server (it allocates the next one).
CREATE SEQUENCE api_project_ids AS BIGINT MINVALUE 1;
SELECT setval('api_project_ids',
    (COALESCE((SELECT max(project_id) FROM ledger_projects WHERE project_id < 9000000000000000000), 0) + 1)::bigint,
    false);

-- What the API knows of a project beyond the ledger: its title, budget, deadline and fee as
-- asked. Written once, with the escrow registration.
CREATE TABLE api_projects (
    project_id      NUMERIC(20, 0) PRIMARY KEY,
    title           TEXT NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    client          TEXT NOT NULL CHECK (client ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    escrow          TEXT NOT NULL UNIQUE CHECK (escrow ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    currency        TEXT NOT NULL,
    -- The budget asked for, in base units (the escrow's budget is what it was sent).
    budget          NUMERIC(39, 0) NOT NULL CHECK (budget > 0),
    -- Unix seconds (the escrow's deadline).
    deadline        BIGINT NOT NULL CHECK (deadline > 0 AND deadline < 4294967296),
    fee_bps         INTEGER NOT NULL CHECK (fee_bps BETWEEN 0 AND 2000),
    -- The escrow's StateInit (BOC): a later deposit to an escrow not yet deployed carries it.
    state_init      BYTEA NOT NULL,
    -- Who asked: `session:<wallet>`, `key:<key_id>`.
    created_by      TEXT NOT NULL CHECK (char_length(created_by) BETWEEN 1 AND 100),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Idempotency-Key records: (caller, key) -> the request's hash, the answer. A request that
-- finds its key `done` with the same hash gets the stored answer; another hash is refused;
-- `in_flight` until `locked_until` means another request with the key is running (after it,
-- the holder is presumed dead and the key may be taken over, reusing `reserved_id`). Rows
-- older than 24 h are deleted when new ones are made.
CREATE TABLE api_idempotency (
    caller          TEXT NOT NULL CHECK (char_length(caller) BETWEEN 1 AND 100),
    key             TEXT NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255),
    -- SHA-256 of method, route, path and body.
    request_sha256  BYTEA NOT NULL CHECK (octet_length(request_sha256) = 32),
    state           TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status          SMALLINT CHECK (status BETWEEN 100 AND 599),
    response        BYTEA,
    content_type    TEXT,
    -- An id the first run allocated (a project id), so a takeover makes the same thing.
    reserved_id     NUMERIC(20, 0),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (caller, key),
    CHECK ((state = 'done') = (status IS NOT NULL AND response IS NOT NULL))
);
CREATE INDEX api_idempotency_created ON api_idempotency (created_at);

DO $$
DECLARE
    attempt INTEGER := 0;
    may_create BOOLEAN;
BEGIN
    LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'labelmint_api_write') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF NOT COALESCE(may_create, false) THEN
                    RAISE EXCEPTION 'role labelmint_api_write does not exist and % may not create roles', current_user
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'as a superuser: CREATE ROLE labelmint_api_write NOLOGIN, then run the migrations again';
                END IF;
                CREATE ROLE labelmint_api_write NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, 'labelmint_api_write', 'MEMBER') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF COALESCE(may_create, false) THEN
                    EXECUTE format('GRANT labelmint_api_write TO %I', current_user);
                ELSE
                    RAISE NOTICE '% is not a member of labelmint_api_write: the API must log in as a member', current_user;
                END IF;
            END IF;
            EXIT;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE;
            WHEN OTHERS THEN
                attempt := attempt + 1;
                IF attempt >= 20 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.02 * attempt);
        END;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO labelmint_api_write;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_idempotency TO labelmint_api_write;
GRANT SELECT, INSERT ON api_projects TO labelmint_api_write;
GRANT USAGE ON SEQUENCE api_project_ids TO labelmint_api_write;
GRANT SELECT ON ledger_currencies, ledger_vaults, account_states, events TO labelmint_api_write;
GRANT SELECT, INSERT ON ledger_projects, signer_contracts, signer_audit TO labelmint_api_write;
GRANT UPDATE (state, close_requested_by, close_requested_at, state_changed_at)
    ON ledger_projects TO labelmint_api_write;
GRANT SELECT, INSERT ON watched_accounts TO labelmint_api_write;
-- The reads show a project's title and deadline.
GRANT SELECT ON api_projects TO labelmint_api_read;
