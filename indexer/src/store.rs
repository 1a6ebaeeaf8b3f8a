//! Postgres storage: exactly once.
//!
//! [`Store::write_master_block`] writes everything one masterchain block contributes (its
//! shard blocks, the kept transactions, their messages and events, the account states, the
//! jetton wallets announced by events) and moves the checkpoint, all in ONE Postgres
//! transaction. Either all of it is committed or none of it is: a crash at any point leaves the
//! database at the previous checkpoint, and [`Store::resume_from`] says where to go on.
//!
//! Two guards make replays harmless:
//! 1. The checkpoint row is read under a transaction-scoped advisory lock: a block at or below
//!    the checkpoint is skipped ([`WriteOutcome::AlreadyIndexed`]); a block that is not
//!    `checkpoint + 1` is refused ([`Error::OutOfOrder`]), so nothing is ever skipped.
//! 2. Every table has a natural unique key and every insert is `ON CONFLICT DO NOTHING` (account
//!    states only move forward in lt), so even rows written twice by mistake land once.
//!
//! Rows go in with one `INSERT ... SELECT FROM UNNEST($1, $2, ...)` per table: one round trip
//! per table and block, whatever the number of rows.

use std::collections::HashMap;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

use crate::error::{Error, Result};
use crate::model::{
    AccountKind, AccountStateRow, BlockRow, EventRow, MasterBlockRows, MessageRow, TransactionRow,
    WatchedAccount,
};

/// The table holding the indexer's migration history. Every crate that shares the database
/// (indexer, ledger, signer, consensus) keeps its own history table, so none of them sees the
/// others' migrations as unknown.
pub const MIGRATIONS_TABLE: &str = "_sqlx_migrations_indexer";

/// The indexer's migrations (`indexer/migrations`, embedded at compile time), recorded in
/// [`MIGRATIONS_TABLE`].
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.dangerous_set_table_name(MIGRATIONS_TABLE);
    m
}

/// The advisory lock key taken by every block write (`'LMIX'` as an integer): two writers can
/// never interleave their checkpoint checks.
const WRITE_LOCK_KEY: i64 = 0x4C4D_4958;

/// What [`Store::write_master_block`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum WriteOutcome {
    /// The rows and the checkpoint are committed.
    Committed,
    /// The block was at or below the checkpoint: nothing was written.
    AlreadyIndexed,
}

/// The indexer's Postgres handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects with at most `max_connections` connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .connect(url)
            .await?;
        Ok(Self { pool })
    }

    /// Wraps an existing pool.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        migrator().run(&self.pool).await?;
        self.backfill_norm_hashes().await?;
        Ok(())
    }

    /// Fills `messages.norm_hash` (TEP-467) of the external-in messages indexed before the
    /// column existed, from their transactions' BOCs, in pages; returns how many it filled. A
    /// BOC that does not decode is logged and left NULL (it was indexed, so it decoded once).
    /// The pending rows have a partial index of their own: on an up-to-date database this is
    /// one lookup in an empty index, not a scan of `messages`.
    async fn backfill_norm_hashes(&self) -> Result<u64> {
        let mut after: Vec<u8> = Vec::new();
        let mut filled = 0u64;
        loop {
            let page: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
                "SELECT m.tx_hash, t.boc FROM messages m JOIN transactions t ON t.hash = m.tx_hash \
                 WHERE m.direction = 'in' AND m.msg_kind = 'ext_in' AND m.norm_hash IS NULL \
                   AND m.tx_hash > $1 \
                 ORDER BY m.tx_hash LIMIT 500",
            )
            .bind(&after)
            .fetch_all(&self.pool)
            .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = last.clone();
            for (tx_hash, boc) in &page {
                match crate::decode::in_message_norm_hash(boc) {
                    Ok(Some(h)) => {
                        sqlx::query(
                            "UPDATE messages SET norm_hash = $2 \
                             WHERE tx_hash = $1 AND direction = 'in' AND idx = 0",
                        )
                        .bind(tx_hash)
                        .bind(h.to_vec())
                        .execute(&self.pool)
                        .await?;
                        filled += 1;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(
                        tx_hash = %hex::encode(tx_hash),
                        error = %e,
                        "cannot compute the normalized hash of an indexed external-in message"
                    ),
                }
            }
        }
        if filled > 0 {
            tracing::info!(
                filled,
                "filled the TEP-467 normalized hash of indexed external-in messages"
            );
        }
        Ok(filled)
    }

    /// Records the newest masterchain block seen on the liteserver (for the lag in blocks the
    /// API reports). A no-op before the first committed block (no checkpoint row yet; each
    /// commit moves the head up to at least the block it commits).
    pub async fn record_head(&self, seqno: u32, gen_utime: Option<u32>) -> Result<()> {
        sqlx::query("UPDATE checkpoint SET head_seqno = $1, head_gen_utime = $2")
            .bind(i64::from(seqno))
            .bind(gen_utime.map(i64::from))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The last fully committed masterchain seqno, if any block was ever indexed.
    pub async fn checkpoint(&self) -> Result<Option<u32>> {
        let row: Option<i64> = sqlx::query_scalar("SELECT mc_seqno FROM checkpoint")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|s| seqno_from_db(s, "checkpoint.mc_seqno"))
            .transpose()
    }

    /// Where indexing goes on: `checkpoint + 1`, or `None` when nothing was ever indexed (the
    /// caller then starts at its configured start block).
    pub async fn resume_from(&self) -> Result<Option<u32>> {
        Ok(match self.checkpoint().await? {
            Some(c) => Some(c.checked_add(1).ok_or(Error::OutOfRange {
                field: "checkpoint + 1",
                value: u64::from(c) + 1,
            })?),
            None => None,
        })
    }

    /// The watched accounts, as of now (re-read for every masterchain block).
    pub async fn watched_accounts(&self) -> Result<Vec<WatchedAccount>> {
        let rows = sqlx::query(
            "SELECT address, kind, project_id::text AS project_id, owner, currency \
             FROM watched_accounts ORDER BY address",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let project_id: Option<String> = r.try_get("project_id")?;
                Ok(WatchedAccount {
                    address: r.try_get("address")?,
                    kind: AccountKind::parse(&kind)
                        .ok_or_else(|| Error::malformed("watched_accounts.kind", &kind))?,
                    project_id: project_id
                        .map(|p| p.parse::<u64>())
                        .transpose()
                        .map_err(|e| Error::malformed("watched_accounts.project_id", e))?,
                    owner: r.try_get("owner")?,
                    currency: r.try_get("currency")?,
                })
            })
            .collect()
    }

    /// Registers an account to watch (what the API and the CLI do); an existing row is kept.
    pub async fn watch(&self, account: &WatchedAccount) -> Result<()> {
        sqlx::query(
            "INSERT INTO watched_accounts (address, kind, project_id, owner, currency) \
             VALUES ($1, $2, $3::text::numeric, $4, $5) ON CONFLICT (address) DO NOTHING",
        )
        .bind(&account.address)
        .bind(account.kind.as_str())
        .bind(account.project_id.map(|p| p.to_string()))
        .bind(&account.owner)
        .bind(&account.currency)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Opens the write of masterchain block `mc_seqno`: `None` when it is already indexed.
    ///
    /// The returned writer holds a Postgres transaction; dropping it without
    /// [`BlockWriter::commit`] rolls everything back (that is what a crash does).
    pub async fn begin_master_block(&self, mc_seqno: u32) -> Result<Option<BlockWriter>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(WRITE_LOCK_KEY)
            .execute(&mut *tx)
            .await?;
        let checkpoint: Option<i64> = sqlx::query_scalar("SELECT mc_seqno FROM checkpoint")
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(c) = checkpoint {
            let c = seqno_from_db(c, "checkpoint.mc_seqno")?;
            if mc_seqno <= c {
                return Ok(None);
            }
            if mc_seqno != c + 1 {
                return Err(Error::OutOfOrder {
                    expected: c + 1,
                    got: mc_seqno,
                });
            }
        }
        Ok(Some(BlockWriter { tx, mc_seqno }))
    }

    /// Writes one masterchain block's rows and its checkpoint in one transaction.
    pub async fn write_master_block(&self, rows: &MasterBlockRows) -> Result<WriteOutcome> {
        let Some(mut w) = self.begin_master_block(rows.mc_seqno).await? else {
            return Ok(WriteOutcome::AlreadyIndexed);
        };
        w.insert_blocks(&rows.blocks).await?;
        w.insert_transactions(&rows.transactions).await?;
        w.insert_messages(&rows.messages).await?;
        w.insert_events(&rows.events).await?;
        w.upsert_account_states(&rows.account_states).await?;
        w.commit().await?;
        Ok(WriteOutcome::Committed)
    }
}

/// An open write of one masterchain block (see [`Store::begin_master_block`]).
#[derive(Debug)]
pub struct BlockWriter {
    tx: Transaction<'static, Postgres>,
    mc_seqno: u32,
}

impl BlockWriter {
    /// Inserts block rows.
    pub async fn insert_blocks(&mut self, rows: &[BlockRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut wc = Vec::with_capacity(rows.len());
        let mut shard = Vec::with_capacity(rows.len());
        let mut seqno = Vec::with_capacity(rows.len());
        let mut root = Vec::with_capacity(rows.len());
        let mut file = Vec::with_capacity(rows.len());
        let mut gen_utime = Vec::with_capacity(rows.len());
        let mut start_lt = Vec::with_capacity(rows.len());
        let mut end_lt = Vec::with_capacity(rows.len());
        for r in rows {
            wc.push(r.id.workchain);
            shard.push(shard_to_db(r.id.shard));
            seqno.push(i64::from(r.id.seqno));
            root.push(r.id.root_hash.to_vec());
            file.push(r.id.file_hash.to_vec());
            gen_utime.push(r.gen_utime.map(i64::from));
            start_lt.push(
                r.start_lt
                    .map(|v| lt_to_db(v, "block.start_lt"))
                    .transpose()?,
            );
            end_lt.push(r.end_lt.map(|v| lt_to_db(v, "block.end_lt")).transpose()?);
        }
        sqlx::query(
            "INSERT INTO blocks (workchain, shard, seqno, root_hash, file_hash, mc_seqno, \
                                 gen_utime, start_lt, end_lt) \
             SELECT w, s, q, r, f, $6, g, sl, el FROM UNNEST($1::int[], $2::bigint[], \
                 $3::bigint[], $4::bytea[], $5::bytea[], $7::bigint[], $8::bigint[], \
                 $9::bigint[]) AS t(w, s, q, r, f, g, sl, el) \
             ON CONFLICT DO NOTHING",
        )
        .bind(wc)
        .bind(shard)
        .bind(seqno)
        .bind(root)
        .bind(file)
        .bind(i64::from(self.mc_seqno))
        .bind(gen_utime)
        .bind(start_lt)
        .bind(end_lt)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Inserts transaction rows.
    pub async fn insert_transactions(&mut self, rows: &[TransactionRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut account = Vec::with_capacity(n);
        let mut lt = Vec::with_capacity(n);
        let mut hash = Vec::with_capacity(n);
        let mut b_wc = Vec::with_capacity(n);
        let mut b_shard = Vec::with_capacity(n);
        let mut b_seqno = Vec::with_capacity(n);
        let mut now = Vec::with_capacity(n);
        let mut prev_hash = Vec::with_capacity(n);
        let mut prev_lt = Vec::with_capacity(n);
        let mut orig = Vec::with_capacity(n);
        let mut end = Vec::with_capacity(n);
        let mut fees = Vec::with_capacity(n);
        let mut kind = Vec::with_capacity(n);
        let mut exit_code = Vec::with_capacity(n);
        let mut skip = Vec::with_capacity(n);
        let mut success = Vec::with_capacity(n);
        let mut gas_used = Vec::with_capacity(n);
        let mut gas_fees = Vec::with_capacity(n);
        let mut action = Vec::with_capacity(n);
        let mut aborted = Vec::with_capacity(n);
        let mut destroyed = Vec::with_capacity(n);
        let mut out_count = Vec::with_capacity(n);
        let mut boc = Vec::with_capacity(n);
        for r in rows {
            account.push(r.account.as_str());
            lt.push(lt_to_db(r.lt, "transaction.lt")?);
            hash.push(r.hash.to_vec());
            b_wc.push(r.block.workchain);
            b_shard.push(shard_to_db(r.block.shard));
            b_seqno.push(i64::from(r.block.seqno));
            now.push(i64::from(r.now));
            prev_hash.push(r.prev_trans_hash.to_vec());
            prev_lt.push(lt_to_db(r.prev_trans_lt, "transaction.prev_trans_lt")?);
            orig.push(r.orig_status);
            end.push(r.end_status);
            fees.push(r.total_fees.to_string());
            kind.push(r.tx_kind);
            exit_code.push(r.compute_exit_code);
            skip.push(r.compute_skip_reason);
            success.push(r.compute_success);
            gas_used.push(
                r.gas_used
                    .map(|g| lt_to_db(g, "transaction.gas_used"))
                    .transpose()?,
            );
            gas_fees.push(r.gas_fees.map(|g| g.to_string()));
            action.push(r.action_result_code);
            aborted.push(r.aborted);
            destroyed.push(r.destroyed);
            out_count.push(i32::from(r.out_msg_count));
            boc.push(r.boc.as_slice());
        }
        sqlx::query(
            "INSERT INTO transactions (account, lt, hash, block_workchain, block_shard, \
                 block_seqno, mc_seqno, now, prev_trans_hash, prev_trans_lt, orig_status, \
                 end_status, total_fees, tx_kind, compute_exit_code, compute_skip_reason, \
                 compute_success, gas_used, gas_fees, action_result_code, aborted, destroyed, \
                 out_msg_count, boc) \
             SELECT a, l, h, bw, bs, bq, $7, nw, ph, pl, os, es, tf::numeric, k, ec, sr, cs, \
                 gu, gf::numeric, ar, ab, de, oc, bo \
             FROM UNNEST($1::text[], $2::bigint[], $3::bytea[], $4::int[], $5::bigint[], \
                 $6::bigint[], $8::bigint[], $9::bytea[], $10::bigint[], $11::text[], \
                 $12::text[], $13::text[], $14::text[], $15::int[], $16::text[], \
                 $17::bool[], $18::bigint[], $19::text[], $20::int[], $21::bool[], \
                 $22::bool[], $23::int[], $24::bytea[]) \
                 AS t(a, l, h, bw, bs, bq, nw, ph, pl, os, es, tf, k, ec, sr, cs, gu, gf, ar, \
                      ab, de, oc, bo) \
             ON CONFLICT DO NOTHING",
        )
        .bind(account)
        .bind(lt)
        .bind(hash)
        .bind(b_wc)
        .bind(b_shard)
        .bind(b_seqno)
        .bind(i64::from(self.mc_seqno))
        .bind(now)
        .bind(prev_hash)
        .bind(prev_lt)
        .bind(orig)
        .bind(end)
        .bind(fees)
        .bind(kind)
        .bind(exit_code)
        .bind(skip)
        .bind(success)
        .bind(gas_used)
        .bind(gas_fees)
        .bind(action)
        .bind(aborted)
        .bind(destroyed)
        .bind(out_count)
        .bind(boc)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Inserts message rows (their transactions must be inserted first).
    pub async fn insert_messages(&mut self, rows: &[MessageRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut tx_hash = Vec::with_capacity(n);
        let mut dir = Vec::with_capacity(n);
        let mut idx = Vec::with_capacity(n);
        let mut msg_hash = Vec::with_capacity(n);
        let mut kind = Vec::with_capacity(n);
        let mut src = Vec::with_capacity(n);
        let mut dst = Vec::with_capacity(n);
        let mut value = Vec::with_capacity(n);
        let mut fwd = Vec::with_capacity(n);
        let mut bounce = Vec::with_capacity(n);
        let mut bounced = Vec::with_capacity(n);
        let mut clt = Vec::with_capacity(n);
        let mut cat = Vec::with_capacity(n);
        let mut op = Vec::with_capacity(n);
        let mut body = Vec::with_capacity(n);
        let mut norm = Vec::with_capacity(n);
        for r in rows {
            tx_hash.push(r.tx_hash.to_vec());
            dir.push(r.direction.as_str());
            idx.push(i32::from(r.idx));
            msg_hash.push(r.msg_hash.to_vec());
            kind.push(r.msg_kind);
            src.push(r.src.as_deref());
            dst.push(r.dst.as_deref());
            value.push(r.value.map(|v| v.to_string()));
            fwd.push(r.fwd_fee.map(|v| v.to_string()));
            bounce.push(r.bounce);
            bounced.push(r.bounced);
            clt.push(
                r.created_lt
                    .map(|v| lt_to_db(v, "message.created_lt"))
                    .transpose()?,
            );
            cat.push(r.created_at.map(i64::from));
            op.push(r.op.map(i64::from));
            body.push(r.body_hash.to_vec());
            norm.push(r.norm_hash.map(|h| h.to_vec()));
        }
        sqlx::query(
            "INSERT INTO messages (tx_hash, direction, idx, msg_hash, msg_kind, src, dst, value, \
                 fwd_fee, bounce, bounced, created_lt, created_at, op, body_hash, norm_hash) \
             SELECT th, d, i, mh, k, s, ds, v::numeric, f::numeric, b, bd, cl, ca, o, bh, nh \
             FROM UNNEST($1::bytea[], $2::text[], $3::int[], $4::bytea[], $5::text[], \
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::bool[], $11::bool[], \
                 $12::bigint[], $13::bigint[], $14::bigint[], $15::bytea[], $16::bytea[]) \
                 AS t(th, d, i, mh, k, s, ds, v, f, b, bd, cl, ca, o, bh, nh) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tx_hash)
        .bind(dir)
        .bind(idx)
        .bind(msg_hash)
        .bind(kind)
        .bind(src)
        .bind(dst)
        .bind(value)
        .bind(fwd)
        .bind(bounce)
        .bind(bounced)
        .bind(clt)
        .bind(cat)
        .bind(op)
        .bind(body)
        .bind(norm)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Inserts event rows, and registers the jetton wallets that `ev_jetton_wallet_learned`
    /// events announce as watched (kind `jetton_wallet`, owned by the emitter, same currency),
    /// in the same transaction.
    pub async fn insert_events(&mut self, rows: &[EventRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let n = rows.len();
        let mut tx_hash = Vec::with_capacity(n);
        let mut idx = Vec::with_capacity(n);
        let mut contract = Vec::with_capacity(n);
        let mut ckind = Vec::with_capacity(n);
        let mut lt = Vec::with_capacity(n);
        let mut now = Vec::with_capacity(n);
        let mut kind = Vec::with_capacity(n);
        let mut project = Vec::with_capacity(n);
        let mut item = Vec::with_capacity(n);
        let mut query = Vec::with_capacity(n);
        let mut amount = Vec::with_capacity(n);
        let mut fee = Vec::with_capacity(n);
        let mut after = Vec::with_capacity(n);
        let mut fields = Vec::with_capacity(n);
        let mut learned_wallet = Vec::new();
        let mut learned_owner = Vec::new();
        for r in rows {
            tx_hash.push(r.tx_hash.to_vec());
            idx.push(i32::from(r.msg_idx));
            contract.push(r.contract.as_str());
            ckind.push(r.contract_kind.map(AccountKind::as_str));
            lt.push(lt_to_db(r.lt, "event.lt")?);
            now.push(i64::from(r.now));
            kind.push(r.kind);
            project.push(r.project_id.map(|v| v.to_string()));
            item.push(r.payout_item_id.map(|v| v.to_string()));
            query.push(r.query_id.map(|v| v.to_string()));
            amount.push(r.amount.map(|v| v.to_string()));
            fee.push(r.fee.map(|v| v.to_string()));
            after.push(r.balance_after.map(|v| v.to_string()));
            fields.push(r.fields.to_string());
            if let Some(wallet) = &r.announced_wallet {
                learned_wallet.push(wallet.as_str());
                learned_owner.push(r.contract.as_str());
            }
        }
        sqlx::query(
            "INSERT INTO events (tx_hash, msg_idx, contract, contract_kind, lt, now, mc_seqno, \
                 kind, project_id, payout_item_id, query_id, amount, fee, balance_after, fields) \
             SELECT th, i, c, ck, l, nw, $7, k, p::numeric, it::numeric, q::numeric, \
                 a::numeric, f::numeric, ba::numeric, fi::jsonb \
             FROM UNNEST($1::bytea[], $2::int[], $3::text[], $4::text[], $5::bigint[], \
                 $6::bigint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], \
                 $13::text[], $14::text[], $15::text[]) \
                 AS t(th, i, c, ck, l, nw, k, p, it, q, a, f, ba, fi) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tx_hash)
        .bind(idx)
        .bind(contract)
        .bind(ckind)
        .bind(lt)
        .bind(now)
        .bind(i64::from(self.mc_seqno))
        .bind(kind)
        .bind(project)
        .bind(item)
        .bind(query)
        .bind(amount)
        .bind(fee)
        .bind(after)
        .bind(fields)
        .execute(&mut *self.tx)
        .await?;
        if !learned_wallet.is_empty() {
            sqlx::query(
                "INSERT INTO watched_accounts (address, kind, owner, currency) \
                 SELECT w, 'jetton_wallet', o, \
                     (SELECT currency FROM watched_accounts WHERE address = o) \
                 FROM UNNEST($1::text[], $2::text[]) AS t(w, o) \
                 ON CONFLICT (address) DO NOTHING",
            )
            .bind(learned_wallet)
            .bind(learned_owner)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Moves account states forward (a state older than the stored one is ignored).
    pub async fn upsert_account_states(&mut self, rows: &[AccountStateRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // One row per address (the newest), or ON CONFLICT DO UPDATE would touch a row twice.
        let mut newest: HashMap<&str, &AccountStateRow> = HashMap::new();
        for r in rows {
            let e = newest.entry(r.address.as_str()).or_insert(r);
            if r.last_lt > e.last_lt {
                *e = r;
            }
        }
        let n = newest.len();
        let mut addr = Vec::with_capacity(n);
        let mut balance = Vec::with_capacity(n);
        let mut status = Vec::with_capacity(n);
        let mut lt = Vec::with_capacity(n);
        let mut hash = Vec::with_capacity(n);
        let mut data = Vec::with_capacity(n);
        for r in newest.values() {
            addr.push(r.address.as_str());
            balance.push(r.balance.to_string());
            status.push(r.status);
            lt.push(lt_to_db(r.last_lt, "account_state.last_lt")?);
            hash.push(r.last_tx_hash.map(|h| h.to_vec()));
            data.push(r.data.as_deref());
        }
        sqlx::query(
            "INSERT INTO account_states (address, balance, status, last_lt, last_tx_hash, \
                 mc_seqno, data) \
             SELECT a, b::numeric, s, l, h, $6, d \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], \
                 $7::bytea[]) AS t(a, b, s, l, h, d) \
             ON CONFLICT (address) DO UPDATE SET balance = EXCLUDED.balance, \
                 status = EXCLUDED.status, data = EXCLUDED.data, last_lt = EXCLUDED.last_lt, \
                 last_tx_hash = EXCLUDED.last_tx_hash, mc_seqno = EXCLUDED.mc_seqno, \
                 updated_at = now() \
             WHERE EXCLUDED.last_lt > account_states.last_lt",
        )
        .bind(addr)
        .bind(balance)
        .bind(status)
        .bind(lt)
        .bind(hash)
        .bind(i64::from(self.mc_seqno))
        .bind(data)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Moves the checkpoint to this block and commits everything written through this writer.
    pub async fn commit(mut self) -> Result<()> {
        sqlx::query(
            "INSERT INTO checkpoint (id, mc_seqno, head_seqno) VALUES (TRUE, $1, $1) \
             ON CONFLICT (id) DO UPDATE SET mc_seqno = EXCLUDED.mc_seqno, updated_at = now(), \
                 head_seqno = GREATEST(checkpoint.head_seqno, EXCLUDED.mc_seqno)",
        )
        .bind(i64::from(self.mc_seqno))
        .execute(&mut *self.tx)
        .await?;
        self.tx.commit().await?;
        Ok(())
    }
}

/// A u64 shard id as the BIGINT bit pattern.
pub fn shard_to_db(shard: u64) -> i64 {
    i64::from_ne_bytes(shard.to_ne_bytes())
}

/// The BIGINT bit pattern back to the u64 shard id.
pub fn shard_from_db(shard: i64) -> u64 {
    u64::from_ne_bytes(shard.to_ne_bytes())
}

fn lt_to_db(v: u64, field: &'static str) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::OutOfRange { field, value: v })
}

fn seqno_from_db(v: i64, field: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::OutOfRange {
        field,
        value: u64::from_ne_bytes(v.to_ne_bytes()),
    })
}
