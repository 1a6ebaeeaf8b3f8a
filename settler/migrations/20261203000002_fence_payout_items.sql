-- The ledger's payout items (ledger migration 20261203000001) are written by the settler
-- outside a batch row's transaction too (the bounceable flags it decides before signing): the
-- same fence guards them. Sessions without `labelmint.settler_fence` (ingest from the CLI, the
-- ledger's own tests) pass, as for ledger_batches.
CREATE TRIGGER settler_fence BEFORE INSERT OR UPDATE OR DELETE ON ledger_payout_items
    FOR EACH ROW EXECUTE FUNCTION settler_check_fence();
