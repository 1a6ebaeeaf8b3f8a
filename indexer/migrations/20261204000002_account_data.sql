-- The data cell (BOC) of each watched account as of its last indexed transaction, when the
-- account is active: the API reads contract storage from it (an escrow's deadline and state, a
-- vault's rolling window, frozen flag and pending admin change) without asking a liteserver.
ALTER TABLE account_states ADD COLUMN data BYTEA;
