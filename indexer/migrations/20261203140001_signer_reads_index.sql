-- The payout signer's database role reads the index (chain time, ev_closed, the seqnos of the
-- releases the ledger counts): grant it here when the role exists already, so the order in
-- which the ledger's and the indexer's migrations run does not matter (the ledger's role
-- migration grants the same when these tables exist first). Without the grant the signer
-- treats chain time and counted releases as unknown: it refuses what needs them and holds
-- every live release as pending, which only slows releases down.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'labelmint_signer') THEN
        GRANT SELECT ON events, blocks, checkpoint TO labelmint_signer;
    END IF;
END $$;
