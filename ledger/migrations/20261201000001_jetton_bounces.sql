-- Jetton transfers refused by the recipient's wallet (issue 11): a USDT wallet locked by its
-- admin refuses an incoming transfer, which bounces to the sender's jetton wallet (the vault's or
-- an escrow's); that wallet takes the tokens back and tells its owner nothing. The indexer
-- records the bounce as the fact 'jetton_transfer_bounced' of the owning contract; the ledger
-- posts it (the tokens sit in the contract's jetton wallet, off the contract's books, until a
-- jetton recovery, 'ev_jetton_recovered', books them again) and puts a refused payout's earning
-- back to approved.
--
-- Append-only: never edit this file once applied; add a new migration.

-- Why a paid item came back: 'payout_bounced' (ev_payout_bounced: the payout message itself
-- bounced) or 'recipient_wallet_refused' (jetton_transfer_bounced: the recipient's jetton wallet
-- refused the transfer). Set exactly for bounced items.
ALTER TABLE ledger_batch_items ADD COLUMN bounce_reason TEXT
    CHECK (bounce_reason IN ('payout_bounced', 'recipient_wallet_refused'));
UPDATE ledger_batch_items SET bounce_reason = 'payout_bounced' WHERE outcome = 'bounced';
ALTER TABLE ledger_batch_items ADD CONSTRAINT ledger_batch_items_bounce_reason_iff_bounced
    CHECK ((outcome = 'bounced') = (bounce_reason IS NOT NULL));

-- Two more chain entry kinds: the refused transfer and the recovery that books it again.
ALTER TABLE ledger_journal_entries DROP CONSTRAINT ledger_journal_entries_kind_check;
ALTER TABLE ledger_journal_entries ADD CONSTRAINT ledger_journal_entries_kind_check
    CHECK (kind IN ('approve', 'revoke', 'deposit', 'release', 'release_bounced', 'vault_funded',
                    'refund', 'refund_bounced', 'batch_executed', 'payout_bounced',
                    'jetton_transfer_bounced', 'jetton_recovered'));
