-- Webhooks (issue 14, point 5): endpoints per client, their deliveries (one per endpoint and
-- event, exactly once: UNIQUE), each attempt, and the outbox cursor that turns newly indexed
-- events into deliveries. Times the delivery worker decides by are unix milliseconds from its
-- Clock (the system clock in production, a controlled one in tests), not now().
-- The server writes these tables as `labelmint_api_hooks` (SET ROLE at connect), which may
-- also read the indexed events and the ledger rows that say whose they are, and nothing else.
-- Append-only: never edit this file once applied; add a new migration.

CREATE TABLE api_webhook_endpoints (
    id              TEXT PRIMARY KEY CHECK (id ~ '^we_[0-9a-f]{16}$'),
    -- The client wallet (raw) whose projects' events it receives; NULL: made by an admin key
    -- for every project.
    owner           TEXT CHECK (owner ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    -- Who made it: `key:<key_id>` or `wallet:<address>`.
    created_by      TEXT NOT NULL CHECK (length(created_by) BETWEEN 1 AND 100),
    url             TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- Event types (TL-B names) it wants; NULL: all.
    events          TEXT[] CHECK (events IS NULL OR cardinality(events) BETWEEN 1 AND 64),
    -- The signing secret, sealed: nonce (24) || XChaCha20-Poly1305 (AAD: the id), under the
    -- server's webhook key. Never the secret in clear.
    secret_sealed   BYTEA NOT NULL CHECK (octet_length(secret_sealed) BETWEEN 40 AND 200),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at      TIMESTAMPTZ,
    disabled_at     TIMESTAMPTZ
);
CREATE INDEX api_webhook_endpoints_owner ON api_webhook_endpoints (owner) WHERE disabled_at IS NULL;

CREATE TABLE api_webhook_deliveries (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES api_webhook_endpoints (id),
    -- The event id the receiver de-duplicates by (an indexed event's stream key, or
    -- `test_<hex>` for a test send).
    event_id        TEXT NOT NULL CHECK (length(event_id) BETWEEN 1 AND 128),
    event_type      TEXT NOT NULL,
    -- The exact bytes sent at every attempt.
    body            TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_ms      BIGINT NOT NULL,
    -- When it is due (pending only). While an attempt is in flight it is pushed past the
    -- attempt's lease, so another worker does not take it; a worker that died mid-attempt
    -- leaves it due again when the lease ends.
    next_attempt_ms BIGINT,
    last_status     INTEGER,
    last_error      TEXT,
    finished_ms     BIGINT,
    UNIQUE (endpoint_id, event_id),
    CHECK ((state = 'pending') = (next_attempt_ms IS NOT NULL))
);
CREATE INDEX api_webhook_deliveries_due ON api_webhook_deliveries (next_attempt_ms) WHERE state = 'pending';
CREATE INDEX api_webhook_deliveries_endpoint ON api_webhook_deliveries (endpoint_id, id DESC);

CREATE TABLE api_webhook_attempts (
    delivery_id     BIGINT NOT NULL REFERENCES api_webhook_deliveries (id),
    attempt         INTEGER NOT NULL CHECK (attempt >= 1),
    started_ms      BIGINT NOT NULL,
    finished_ms     BIGINT NOT NULL,
    -- The receiver's status; NULL when no answer came (refused, timeout, TLS, SSRF check).
    status_code     INTEGER,
    error           TEXT CHECK (length(error) <= 500),
    PRIMARY KEY (delivery_id, attempt)
);

-- The last indexed event turned into deliveries, in stream order (mc_seqno, lt, tx_hash,
-- msg_idx). One row; moved in the same transaction as the deliveries it made.
CREATE TABLE api_webhook_outbox (
    singleton       BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
    mc_seqno        BIGINT NOT NULL,
    lt              BIGINT NOT NULL,
    tx_hash         BYTEA NOT NULL,
    msg_idx         INTEGER NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The hooks role, created like the read and auth roles (idempotent, retried across concurrent
-- migrations of one cluster's databases).
DO $$
DECLARE
    attempt INTEGER := 0;
    may_create BOOLEAN;
BEGIN
    LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'labelmint_api_hooks') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF NOT COALESCE(may_create, false) THEN
                    RAISE EXCEPTION 'role labelmint_api_hooks does not exist and % may not create roles', current_user
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'as a superuser: CREATE ROLE labelmint_api_hooks NOLOGIN, then run the migrations again';
                END IF;
                CREATE ROLE labelmint_api_hooks NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, 'labelmint_api_hooks', 'MEMBER') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF COALESCE(may_create, false) THEN
                    EXECUTE format('GRANT labelmint_api_hooks TO %I', current_user);
                ELSE
                    RAISE NOTICE '% is not a member of labelmint_api_hooks: the API must log in as a member', current_user;
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

GRANT USAGE ON SCHEMA public TO labelmint_api_hooks;
GRANT SELECT, INSERT, UPDATE ON api_webhook_endpoints, api_webhook_deliveries,
    api_webhook_attempts, api_webhook_outbox TO labelmint_api_hooks;
-- What an event is and whose it is (the same reads as the streams).
GRANT SELECT ON events, ledger_projects, ledger_payout_items, ledger_batches,
    ledger_batch_items, ledger_earnings TO labelmint_api_hooks;
