-- no-transaction
-- The project read also sums the project's approved earnings (state <> 'revoked'): an
-- index-only scan with this covering index instead of a heap fetch per earning.
-- CONCURRENTLY and one statement, as 20261213000001_events_contract_sums.sql.
-- Append-only: never edit this file once applied; add a new migration.
CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_earnings_project_sums ON ledger_earnings (project_id) INCLUDE (state, amount);
