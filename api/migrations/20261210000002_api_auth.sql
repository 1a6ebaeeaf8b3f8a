-- The status API's auth tables (issue 14, point 3): integrators' API keys, TonConnect ton_proof
-- payloads, wallet sessions. Secrets are never stored: a key or a token is kept as the SHA-256
-- of its full text (each holds 256 random bits, so a plain hash is enough: no dictionary can
-- reach it), compared in constant time after an index lookup by the key's public id.
-- The server writes these tables as `labelmint_api_auth` (SET ROLE at connect, api/src/db.rs),
-- which may touch these three tables and nothing else; the read role cannot see them at all.
-- Append-only: never edit this file once applied; add a new migration.

CREATE TABLE api_keys (
    -- The public part of the key (`lmk_<key_id>_<secret>`): 16 hex digits, the lookup index.
    key_id          TEXT PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    -- SHA-256 of the whole key text; replaced by a rotation.
    secret_sha256   BYTEA NOT NULL CHECK (octet_length(secret_sha256) = 32),
    scope           TEXT NOT NULL CHECK (scope IN ('read', 'client', 'admin')),
    -- A `client` key acts for this wallet (raw form): it sees that client's projects only.
    client          TEXT CHECK (client ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    label           TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    rotated_at      TIMESTAMPTZ,
    revoked_at      TIMESTAMPTZ,
    CHECK ((scope = 'client') = (client IS NOT NULL))
);

-- Payloads handed out by POST /v1/auth/ton-proof/payload: single use (consumed_at set in the
-- same statement that checks it is unset), expiring. Kept after use so that a replay is told
-- apart from an unknown payload; rows a day past their expiry are deleted when new ones are made.
CREATE TABLE ton_proof_payloads (
    payload         TEXT PRIMARY KEY CHECK (payload ~ '^[0-9a-f]{64}$'),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    consumed_at     TIMESTAMPTZ
);
CREATE INDEX ton_proof_payloads_expiry ON ton_proof_payloads (expires_at);

-- Wallet sessions made by POST /v1/auth/ton-proof: the SHA-256 of the token (`lms_...`).
CREATE TABLE api_sessions (
    token_sha256    BYTEA PRIMARY KEY CHECK (octet_length(token_sha256) = 32),
    -- The wallet that proved itself (raw form).
    address         TEXT NOT NULL CHECK (address ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    -- Which wallet contract it is (`v3r2`, `v4r2`, `v5r1`, or `deployed`: key by get_public_key).
    wallet          TEXT NOT NULL CHECK (length(wallet) BETWEEN 1 AND 16),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX api_sessions_expiry ON api_sessions (expires_at);

-- The auth role, created like the read role (idempotent, retried across concurrent migrations
-- of one cluster's databases).
DO $$
DECLARE
    attempt INTEGER := 0;
    may_create BOOLEAN;
BEGIN
    LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'labelmint_api_auth') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF NOT COALESCE(may_create, false) THEN
                    RAISE EXCEPTION 'role labelmint_api_auth does not exist and % may not create roles', current_user
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'as a superuser: CREATE ROLE labelmint_api_auth NOLOGIN, then run the migrations again';
                END IF;
                CREATE ROLE labelmint_api_auth NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, 'labelmint_api_auth', 'MEMBER') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF COALESCE(may_create, false) THEN
                    EXECUTE format('GRANT labelmint_api_auth TO %I', current_user);
                ELSE
                    RAISE NOTICE '% is not a member of labelmint_api_auth: the API must log in as a member', current_user;
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

GRANT USAGE ON SCHEMA public TO labelmint_api_auth;
GRANT SELECT, INSERT, UPDATE, DELETE ON api_keys, ton_proof_payloads, api_sessions
    TO labelmint_api_auth;
