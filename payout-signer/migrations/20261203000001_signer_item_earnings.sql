-- Payout items aggregate earnings (issue 13): one vault item pays every earning the ledger
-- grouped under it, and a new batch groups the earnings anew under new item ids. The signer's
-- own anti-double-sign record is therefore kept per EARNING: which earnings each signed item
-- paid, in which (vault, query id), live until when. An earning signed in a live batch is never
-- signed again under another item id (payout-signer/src/policy.rs check_items_against_journal).
--
-- Append-only: never edit this file once applied; add a new migration.

CREATE TABLE signer_item_earnings (
    earning_id   BIGINT NOT NULL CHECK (earning_id > 0),
    item_id      BIGINT NOT NULL CHECK (item_id > 0 AND item_id < 100000000000000000),
    contract     TEXT COLLATE "C" NOT NULL,
    query_id     NUMERIC(20, 0) NOT NULL,
    valid_until  BIGINT NOT NULL,
    signed_at    BIGINT NOT NULL
);
CREATE INDEX signer_item_earnings_by_earning ON signer_item_earnings (earning_id);

-- Signatures made before: their item id was the earning id.
INSERT INTO signer_item_earnings (earning_id, item_id, contract, query_id, valid_until, signed_at)
    SELECT item_id, item_id, contract, query_id, valid_until, signed_at FROM signer_items
    WHERE item_id > 0;

-- Append-only, like the rest of the journal.
CREATE FUNCTION signer_item_earnings_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signer_item_earnings is append-only';
END;
$$;
CREATE TRIGGER signer_item_earnings_no_update BEFORE UPDATE OR DELETE ON signer_item_earnings
    FOR EACH ROW EXECUTE FUNCTION signer_item_earnings_append_only();

GRANT SELECT, INSERT ON signer_item_earnings TO labelmint_signer;

-- Earlier signatures are looked up per earning now: the per-item index only cost writes.
DROP INDEX IF EXISTS signer_items_by_item;
