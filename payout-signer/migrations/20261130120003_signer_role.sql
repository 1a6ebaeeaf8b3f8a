-- The signer's database role (issue 11, point 8): `payout-signer serve` runs every query as
-- `labelmint_signer` (SET ROLE at connect). It reads the ledger (granted by the ledger's
-- migration 20261130120002_signer_role.sql) and writes only what signing writes here: journal,
-- signed items, volumes, audit records, and its own fencing token. It cannot change the
-- allowlist (`register`), the freeze switch (`freeze` / `unfreeze`) or anything of the ledger:
-- those run as the database owner.
--
-- The role is created here too when missing (the same idempotent, retried block as the
-- ledger's; roles are cluster-wide and tests migrate many databases of one cluster at once).
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
                attempt := attempt + 1;
                IF attempt >= 20 THEN
                    RAISE;
                END IF;
                PERFORM pg_sleep(0.02 * attempt);
        END;
    END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO labelmint_signer;
-- Read: the allowlist and the state row (FOR SHARE needs UPDATE on a column: only the fencing
-- token's columns; `frozen` and `freeze_reason` stay the operator's).
GRANT SELECT ON signer_contracts TO labelmint_signer;
GRANT SELECT, UPDATE (holder, holder_since) ON signer_state TO labelmint_signer;
-- Append: the journal, the signed items and the audit log (never UPDATE or DELETE).
GRANT SELECT, INSERT ON signer_journal, signer_items, signer_audit TO labelmint_signer;
-- The rolling volumes: one row per (currency, minute), added to in place.
GRANT SELECT, INSERT, UPDATE (amount) ON signer_volume TO labelmint_signer;
