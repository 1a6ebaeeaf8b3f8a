-- Addresses, currencies and kinds are ASCII identifiers compared for equality and ordered only
-- inside indexes: byte order ("C") instead of the database's libc collation, which makes every
-- index comparison a strcoll() call. The signing transaction inserts 250 signer_items rows per
-- batch into two indexes keyed by these columns; this is most of its database time.
ALTER TABLE signer_items
    ALTER COLUMN contract TYPE TEXT COLLATE "C",
    ALTER COLUMN worker TYPE TEXT COLLATE "C",
    ALTER COLUMN currency TYPE TEXT COLLATE "C";
ALTER TABLE signer_journal
    ALTER COLUMN contract TYPE TEXT COLLATE "C",
    ALTER COLUMN key_kind TYPE TEXT COLLATE "C",
    ALTER COLUMN request_kind TYPE TEXT COLLATE "C",
    ALTER COLUMN currency TYPE TEXT COLLATE "C";
ALTER TABLE signer_volume
    ALTER COLUMN currency TYPE TEXT COLLATE "C";
ALTER TABLE signer_contracts
    ALTER COLUMN address TYPE TEXT COLLATE "C";

-- Earlier signatures are looked up by item id only. The primary key (item_id, contract,
-- query_id) was a wide three-column key with a text column, maintained on every insert; its
-- uniqueness already follows from signer_journal's key (one batch per (contract, query id))
-- and the signer refusing a batch that names an item twice (duplicate_item_id).
ALTER TABLE signer_items DROP CONSTRAINT signer_items_pkey;
CREATE INDEX signer_items_by_item ON signer_items (item_id);
