-- Database roles (issue 11, point 8): the payout signer reads the ledger and writes only its own
-- tables. `labelmint_signer` is a NOLOGIN group role; the signer's login is made a member of it
-- (`GRANT labelmint_signer TO <login>`), and `payout-signer serve` runs every query under it
-- (`SET ROLE`, see payout-signer/README.md "Database role"). The signer's own tables grant it
-- their rights in payout-signer's migrations.
--
-- Roles are cluster-wide, and tests migrate many scratch databases of one cluster at the same
-- time: creating the role (and the migrating user's membership, which lets a signer that logs
-- in as the database owner SET ROLE to it) is idempotent and retried when a concurrent
-- migration in another database did it first. The migrating user needs CREATEROLE (or the role
-- must exist already, created by a superuser).
DO $$
DECLARE
    attempt INTEGER := 0;
    may_create BOOLEAN;
BEGIN
    LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'labelmint_signer') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF NOT COALESCE(may_create, false) THEN
                    RAISE EXCEPTION 'role labelmint_signer does not exist and % may not create roles', current_user
                        USING ERRCODE = 'insufficient_privilege',
                              HINT = 'as a superuser: CREATE ROLE labelmint_signer NOLOGIN (or ALTER ROLE '
                                     || current_user || ' CREATEROLE), then run the migrations again';
                END IF;
                CREATE ROLE labelmint_signer NOLOGIN;
            END IF;
            IF NOT pg_has_role(current_user, 'labelmint_signer', 'MEMBER') THEN
                SELECT rolcreaterole OR rolsuper INTO may_create FROM pg_roles
                    WHERE rolname = current_user;
                IF COALESCE(may_create, false) THEN
                    EXECUTE format('GRANT labelmint_signer TO %I', current_user);
                ELSE
                    RAISE NOTICE '% is not a member of labelmint_signer: the signer must log in as a member', current_user;
                END IF;
            END IF;
            EXIT;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE;
            WHEN OTHERS THEN
                -- A concurrent migration of another database created the role or the
                -- membership first (unique violation, "tuple concurrently updated"): look again.
                attempt := attempt + 1;
                IF attempt >= 20 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.02 * attempt);
        END;
    END LOOP;
END $$;

-- Read the ledger, nothing else (no INSERT, UPDATE, DELETE, TRUNCATE anywhere here).
GRANT USAGE ON SCHEMA public TO labelmint_signer;
GRANT SELECT ON ledger_currencies, ledger_projects, ledger_vaults, ledger_earnings,
    ledger_reestimates, ledger_batches, ledger_batch_items, ledger_journal_entries,
    ledger_journal_lines, ledger_chain_events, ledger_anomalies
    TO labelmint_signer;

-- The indexer's tables the ledger reads for the signer (chain time, ev_closed, the seqnos of
-- indexed releases), when they are in this database already. If the indexer's migrations run
-- after this one, grant them by hand (`GRANT SELECT ON events, blocks, checkpoint TO
-- labelmint_signer`); until then the signer treats chain time as unknown (it refuses what
-- needs it, never the other way round).
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['events', 'blocks', 'checkpoint'] LOOP
        IF to_regclass(t) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT ON %I TO labelmint_signer', t);
        END IF;
    END LOOP;
END $$;
