-- The benchmark's data set (api/benches/reads.rs runs this once per parameter set, in one
-- transaction, on a database migrated by the indexer, the ledger and the API).
-- Parameters, as psql-style placeholders the bench replaces: :n_tx transactions, :n_items
-- payout items, :n_projects projects, :n_workers workers.
--
-- Shape (as the indexer and the ledger write them): every transaction of a watched account
-- (70 % on escrows, 30 % on the two vaults) has an inbound message, one external-out event
-- message and its decoded event; 8 transactions per shard block, one shard block per
-- masterchain block; hashes are SHA-256 of a label (32 bytes, like the chain's); BOCs are
-- 320 bytes. The ledger: TON and USD, :n_projects projects (odd ids TON, even USD), one vault
-- per currency, batches of 250 items, one earning per item, the last 4 batches still sent.

CREATE FUNCTION pg_temp.h(label TEXT) RETURNS BYTEA LANGUAGE sql IMMUTABLE
    AS $$ SELECT sha256(convert_to(label, 'UTF8')) $$;
CREATE FUNCTION pg_temp.addr(label TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE
    AS $$ SELECT '0:' || encode(sha256(convert_to(label, 'UTF8')), 'hex') $$;

INSERT INTO ledger_currencies (code, decimals, jetton_master) VALUES
    ('TON', 9, NULL), ('USD', 6, pg_temp.addr('usd-master'));
INSERT INTO ledger_vaults (currency, address) VALUES
    ('TON', pg_temp.addr('vault-TON')), ('USD', pg_temp.addr('vault-USD'));
INSERT INTO ledger_projects (project_id, escrow, currency, client)
SELECT p, pg_temp.addr('escrow' || p), CASE WHEN p % 2 = 1 THEN 'TON' ELSE 'USD' END,
       pg_temp.addr('client' || (p % 50))
FROM generate_series(1, :n_projects) p;

INSERT INTO watched_accounts (address, kind, project_id, currency)
SELECT escrow, 'escrow', project_id, currency FROM ledger_projects
UNION ALL SELECT address, 'vault', NULL, currency FROM ledger_vaults;

-- tx i: class i % 10 < 7 on escrow ((i * 7919) % projects) + 1, else on vault TON/USD by i % 2.
CREATE TEMP TABLE bench_tx AS
SELECT i,
       CASE WHEN i % 10 < 7 THEN pg_temp.addr('escrow' || ((i * 7919) % :n_projects + 1))
            WHEN i % 2 = 0 THEN pg_temp.addr('vault-TON') ELSE pg_temp.addr('vault-USD') END AS account,
       CASE WHEN i % 10 < 5 THEN 'ev_deposit' WHEN i % 10 < 7 THEN 'ev_release'
            WHEN i % 97 = 0 THEN 'ev_payout_bounced' ELSE 'ev_batch_executed' END AS kind,
       CASE WHEN i % 10 < 7 THEN (i * 7919) % :n_projects + 1 END AS project_id,
       pg_temp.h('tx' || i) AS hash
FROM generate_series(1::bigint, :n_tx) i;

INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, block_seqno,
    mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, end_status, total_fees, tx_kind,
    compute_exit_code, compute_success, gas_used, gas_fees, action_result_code, aborted,
    destroyed, out_msg_count, boc)
SELECT account, 1000 + i * 10, hash, 0, -9223372036854775808, i / 8, i / 8 + 1,
       1700000000 + i / 4, pg_temp.h('tx' || (i - 1)), 990 + i * 10, 'active', 'active',
       2000000 + (i % 1000) * 1000, 'ordinary', 0, true, 6000 + i % 3000, 2400000, 0, false,
       false, 1, decode(repeat(md5(i::text), 10), 'hex')
FROM bench_tx;

INSERT INTO messages (tx_hash, direction, idx, msg_hash, msg_kind, src, dst, value, fwd_fee,
    bounce, bounced, created_lt, created_at, op, body_hash, norm_hash)
SELECT hash, 'in', 0, pg_temp.h('in' || i),
       CASE WHEN kind = 'ev_deposit' THEN 'int' ELSE 'ext_in' END,
       CASE WHEN kind = 'ev_deposit' THEN pg_temp.addr('client' || (project_id % 50)) END,
       account,
       CASE WHEN kind = 'ev_deposit' THEN 1000000000 * (1 + i % 50) END,
       CASE WHEN kind = 'ev_deposit' THEN 400000 END,
       CASE WHEN kind = 'ev_deposit' THEN true END,
       CASE WHEN kind = 'ev_deposit' THEN false END,
       CASE WHEN kind = 'ev_deposit' THEN 999 + i * 10 END,
       CASE WHEN kind = 'ev_deposit' THEN 1700000000 + i / 4 END,
       305419896 + i % 7, pg_temp.h('body-in' || i),
       CASE WHEN kind = 'ev_deposit' THEN NULL ELSE pg_temp.h('norm' || i) END
FROM bench_tx
UNION ALL
SELECT hash, 'out', 0, pg_temp.h('out' || i), 'ext_out', account, NULL, NULL, NULL, NULL, NULL,
       1001 + i * 10, 1700000000 + i / 4, 2882400000 + i % 7, pg_temp.h('body-out' || i), NULL
FROM bench_tx;

INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, kind,
    project_id, payout_item_id, query_id, amount, fee, balance_after, fields)
SELECT hash, 0, account, CASE WHEN project_id IS NULL THEN 'vault' ELSE 'escrow' END,
       1000 + i * 10, 1700000000 + i / 4, i / 8 + 1, kind, project_id,
       CASE WHEN kind = 'ev_payout_bounced' THEN i % :n_items + 1 END,
       i,
       CASE kind WHEN 'ev_deposit' THEN 1000000000 * (1 + i % 50) WHEN 'ev_release' THEN 500000000
                 WHEN 'ev_payout_bounced' THEN 1000000 ELSE 250000000000 END,
       CASE WHEN kind = 'ev_release' THEN 12000000 END,
       1000000000 * (i % 1000),
       jsonb_build_object('query_id', i::text, 'amount', (1000000000 * (1 + i % 50))::text)
FROM bench_tx;

INSERT INTO blocks (workchain, shard, seqno, root_hash, file_hash, mc_seqno, gen_utime, start_lt, end_lt)
SELECT 0, -9223372036854775808, s, pg_temp.h('sb-root' || s), pg_temp.h('sb-file' || s), s + 1,
       1700000000 + s * 2, 1000 + s * 80, 1000 + s * 80 + 79
FROM generate_series(0, :n_tx / 8) s
UNION ALL
SELECT -1, -9223372036854775808, s + 1, pg_temp.h('mb-root' || s), pg_temp.h('mb-file' || s), s + 1,
       1700000000 + s * 2, 1000 + s * 80, 1000 + s * 80 + 79
FROM generate_series(0, :n_tx / 8) s;
INSERT INTO checkpoint (id, mc_seqno) VALUES (true, :n_tx / 8 + 1);

INSERT INTO account_states (address, balance, status, last_lt, last_tx_hash, mc_seqno)
SELECT address, 5000000000, 'active', 1000, NULL, :n_tx / 8 + 1 FROM watched_accounts;

-- Batches: b = 1..ceil(items / 250); odd TON, even USD; all confirmed but the last 4 (sent).
CREATE TEMP TABLE bench_items AS
SELECT k, (k - 1) / 250 + 1 AS b, (k - 1) % 250 AS pos,
       'worker-' || ((k * 7) % :n_workers) AS worker,
       pg_temp.addr('worker' || ((k * 7) % :n_workers)) AS payout_address,
       CASE WHEN ((k - 1) / 250 + 1) % 2 = 1 THEN 'TON' ELSE 'USD' END AS currency,
       1000000 * (1 + k % 100) AS amount,
       ((k % (:n_projects / 2)) * 2 + CASE WHEN ((k - 1) / 250 + 1) % 2 = 1 THEN 1 ELSE 2 END) AS project_id
FROM generate_series(1::bigint, :n_items) k;
CREATE TEMP TABLE bench_batches AS
SELECT b, min(currency) AS currency, count(*)::int AS n, sum(amount) AS total,
       b > (SELECT max(b) FROM bench_items) - 4 AS live
FROM bench_items GROUP BY b;

INSERT INTO ledger_batches (id, vault, currency, query_id, created_at, valid_until, state,
    item_count, total, signed_hash, sent_hash, confirmed_tx, confirmed_lt, confirmed_now)
OVERRIDING SYSTEM VALUE
SELECT b, pg_temp.addr('vault-' || currency), currency, b, 1700000000 + b * 60,
       1700000000 + b * 60 + 600, CASE WHEN live THEN 'sent' ELSE 'confirmed' END, n, total,
       pg_temp.h('signed' || b), pg_temp.h('sent' || b),
       CASE WHEN NOT live THEN pg_temp.h('tx' || (b * 10 + 7)) END,
       CASE WHEN NOT live THEN 1000 + (b * 10 + 7) * 10 END,
       CASE WHEN NOT live THEN 1700000000 + b * 60 + 5 END
FROM bench_batches ORDER BY b;
SELECT setval(pg_get_serial_sequence('ledger_batches', 'id'), (SELECT max(b) FROM bench_batches));

INSERT INTO ledger_earnings (id, submission_key, worker, payout_address, project_id, currency,
    amount, decision_id, state)
SELECT i.k, 'bench-' || i.k, i.worker, i.payout_address, i.project_id, i.currency, i.amount,
       'decision-' || i.k, CASE WHEN bb.live THEN 'sent' ELSE 'confirmed' END
FROM bench_items i JOIN bench_batches bb USING (b);
SELECT setval('ledger_earning_id_seq', :n_items);

INSERT INTO ledger_payout_items (id, batch_id, position, worker, payout_address, currency,
    amount, earning_count, bounceable, outcome)
SELECT i.k, i.b, i.pos, i.worker, i.payout_address, i.currency, i.amount, 1, false,
       CASE WHEN bb.live THEN 'pending' ELSE 'paid' END
FROM bench_items i JOIN bench_batches bb USING (b);
SELECT setval('ledger_payout_item_id_seq', :n_items);

INSERT INTO ledger_batch_items (batch_id, earning_id, position, outcome)
SELECT i.b, i.k, i.pos, CASE WHEN bb.live THEN 'pending' ELSE 'paid' END
FROM bench_items i JOIN bench_batches bb USING (b);
