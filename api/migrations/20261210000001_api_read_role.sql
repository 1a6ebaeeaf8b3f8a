-- The status API's database role (issue 14, point 1): `labelmint-api` runs every read as
-- `labelmint_api_read` (SET ROLE at connect, see api/src/db.rs). It may SELECT the indexer's
-- and the ledger's tables the API reads, and nothing else: no INSERT, UPDATE, DELETE or
-- TRUNCATE anywhere, no signer tables (journal, audit), no journal lines.
-- Append-only: never edit this file once applied; add a new migration.
-- History table: _sqlx_migrations_api (the crate's own).
--
-- Roles are cluster-wide and tests migrate many scratch databases of one cluster at once:
-- creating the role (and the migrating user's membership, so a server that logs in as the
-- database owner can SET ROLE to it) is idempotent and retried, as the signer's role is
-- (ledger/migrations/20261130120002_signer_role.sql). The migrating user needs CREATEROLE (or
-- the role must exist already, created by a superuser).
DO $$
DECLARE
    attempt INTEGER := 0;
    may_create BOOLEAN;
BEGIN
    LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'labelmint_api_read') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF NOT COALESCE(may_create, false) THEN
                    RAISE EXCEPTION 'role labelmint_api_read does not exist and % may not create roles', current_user
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'as a superuser: CREATE ROLE labelmint_api_read NOLOGIN (or ALTER ROLE '
                                     || current_user || ' CREATEROLE), then run the migrations again';
                END IF;
                CREATE ROLE labelmint_api_read NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, 'labelmint_api_read', 'MEMBER') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF COALESCE(may_create, false) THEN
                    EXECUTE format('GRANT labelmint_api_read TO %I', current_user);
                ELSE
                    RAISE NOTICE '% is not a member of labelmint_api_read: the API must log in as a member', current_user;
                END IF;
            END IF;
            EXIT;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE;
            WHEN OTHERS THEN
                -- A concurrent migration of another database did it first: look again.
                attempt := attempt + 1;
                IF attempt >= 20 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.02 * attempt);
        END;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO labelmint_api_read;

-- SELECT on exactly the tables the API reads. The indexer's and the ledger's migrations must
-- have run first (the server applies this one after checking that they did); a table that does
-- not exist yet is an error here rather than a silently missing grant.
GRANT SELECT ON
    -- indexer
    checkpoint, blocks, transactions, messages, events, account_states, watched_accounts,
    -- ledger
    ledger_currencies, ledger_projects, ledger_vaults, ledger_earnings, ledger_batches,
    ledger_batch_items, ledger_payout_items
    TO labelmint_api_read;
