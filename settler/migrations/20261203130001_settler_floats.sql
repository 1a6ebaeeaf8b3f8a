-- The float the settler last saw, per contract (escrows, vaults, its relayer wallet): the TON
-- balance against the fees its next actions need, and what it holds against what is payable
-- from it. Written by the leader at the end of every pass (the same figures as its /metrics
-- gauges), read by `labelmint float` and, later, the api, so an operator sees it without
-- scraping the settler. Observational only: nothing decides from this table.
CREATE TABLE settler_floats (
    contract     TEXT PRIMARY KEY CHECK (contract ~ '^-?[0-9]+:[0-9a-f]{64}$'),
    kind         TEXT NOT NULL CHECK (kind IN ('escrow', 'vault', 'relayer')),
    currency     TEXT NOT NULL CHECK (length(currency) BETWEEN 1 AND 16),
    -- nanoTON.
    ton_balance  NUMERIC(40, 0) NOT NULL CHECK (ton_balance >= 0),
    ton_needed   NUMERIC(40, 0) NOT NULL CHECK (ton_needed >= 0),
    -- Base units of `currency`: a vault's funds (TON above its reserve, or its jetton books), an
    -- escrow's remaining budget; 0 for the relayer.
    holdings     NUMERIC(40, 0) NOT NULL CHECK (holdings >= 0),
    -- Vault: approved + in live batches; escrow: releasable (approved, not released).
    payable      NUMERIC(40, 0) NOT NULL CHECK (payable >= 0),
    low          BOOLEAN NOT NULL,
    -- The chain time of the pass (the liteserver's last masterchain block) and the wall time.
    chain_time   BIGINT NOT NULL CHECK (chain_time >= 0),
    observed_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TRIGGER settler_fence BEFORE INSERT OR UPDATE OR DELETE ON settler_floats
    FOR EACH ROW EXECUTE FUNCTION settler_check_fence();
