//! Approvals from the consensus engine: idempotent by submission key, each with its decision
//! id; re-estimates recorded (never applied to a paid earning); revocation only before batching.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::Ledger;
use crate::error::{Error, Result};
use crate::journal::{Account, EntryKind, NewEntry, post};
use crate::model::{Approval, Earning, NewEarning, Reestimate, ReestimateRecord};
use crate::num::{MAX_AMOUNT, check_amount, parse_u64, parse_u128};
use crate::state::EarningState;
use crate::types::{CurrencyCode, EarningId, ProjectId, RawAddress};

const EARNING_COLUMNS: &str = "id, submission_key, worker, payout_address, \
     project_id::text AS project_id, currency, amount::text AS amount, decision_id, state, \
     extract(epoch FROM approved_at)::bigint AS approved_at";

fn check_text(field: &'static str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("must be 1..={max} bytes without control characters"),
        ));
    }
    Ok(())
}

/// The checks every new earning passes before it is written (one approval or a batch).
fn check_new_earning(e: &NewEarning) -> Result<()> {
    check_text("submission_key", &e.submission_key, 512)?;
    check_text("worker", &e.worker, 256)?;
    check_text("decision_id", &e.decision_id, 512)?;
    check_amount("amount", e.amount)?;
    if e.payout_address.workchain() != 0 {
        return Err(Error::invalid(
            "payout_address",
            "payouts go to the basechain (workchain 0) only",
        ));
    }
    Ok(())
}

impl Ledger {
    /// Approves an earning, idempotently: the first call for a submission key creates the
    /// earning (state `approved`) and posts `approve:<id>` (`client:<project>` debit,
    /// `payable:<worker>` credit) in the same transaction; a later call with the same content
    /// returns the same earning with `newly_created = false`; a later call with different
    /// content is refused with [`Error::ApprovalConflict`] naming the fields that differ. Safe
    /// under concurrent calls (one row, whatever the number of racing callers). A project that
    /// is closing or closed takes no new earning ([`Error::ProjectNotActive`]; the retry of an
    /// approval made before is still answered).
    pub async fn approve_earning(&self, e: &NewEarning) -> Result<Approval> {
        check_new_earning(e)?;
        let project = self
            .project(e.project)
            .await?
            .ok_or(Error::UnknownProject(e.project))?;

        let mut tx = self.pool.begin().await?;
        let id: std::result::Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO ledger_earnings \
                 (submission_key, worker, payout_address, project_id, currency, amount, decision_id) \
             VALUES ($1, $2, $3, $4::text::numeric, $5, $6::text::numeric, $7) \
             ON CONFLICT (submission_key) DO NOTHING RETURNING id",
        )
        .bind(&e.submission_key)
        .bind(&e.worker)
        .bind(e.payout_address.as_str())
        .bind(e.project.0.to_string())
        .bind(project.currency.as_str())
        .bind(e.amount.to_string())
        .bind(&e.decision_id)
        .fetch_optional(&mut *tx)
        .await;
        let id = match id {
            Ok(id) => id,
            Err(err) => return Err(self.insert_refused(tx, e.project, err).await),
        };

        let Some(id) = id else {
            tx.rollback().await?;
            let existing = self
                .earning_by_submission(&e.submission_key)
                .await?
                .ok_or_else(|| Error::UnknownEarning(e.submission_key.clone()))?;
            let mut fields = Vec::new();
            if existing.worker != e.worker {
                fields.push("worker");
            }
            if existing.payout_address != e.payout_address {
                fields.push("payout_address");
            }
            if existing.project != e.project {
                fields.push("project");
            }
            if existing.amount != e.amount {
                fields.push("amount");
            }
            if existing.decision_id != e.decision_id {
                fields.push("decision_id");
            }
            if !fields.is_empty() {
                return Err(Error::ApprovalConflict {
                    submission_key: e.submission_key.clone(),
                    existing: existing.id,
                    fields,
                });
            }
            return Ok(Approval {
                earning_id: existing.id,
                newly_created: false,
            });
        };
        let earning_id = EarningId::from_sql(id)?;
        let amount = i128::try_from(e.amount).map_err(|_| Error::invalid("amount", "too large"))?;
        let mut entry = NewEntry::new(
            format!("approve:{earning_id}"),
            EntryKind::Approve,
            &project.currency,
        )
        .line(Account::Client(e.project), amount)
        .line(Account::Payable(e.worker.clone()), -amount);
        entry.project = Some(e.project);
        entry.earning = Some(earning_id);
        entry.memo = format!("decision {}", e.decision_id);
        post(&mut tx, &entry).await?;
        tx.commit().await?;
        tracing::info!(earning = %earning_id, project = %e.project, amount = %e.amount, "earning approved");
        Ok(Approval {
            earning_id,
            newly_created: true,
        })
    }

    /// The error for a refused earnings insert: the trigger's refusal (the project is closing
    /// or closed; a new submission only) becomes [`Error::ProjectNotActive`] with the
    /// project's state, after the transaction is rolled back; anything else is passed on.
    async fn insert_refused(
        &self,
        tx: sqlx::Transaction<'_, sqlx::Postgres>,
        project: ProjectId,
        err: sqlx::Error,
    ) -> Error {
        match err {
            sqlx::Error::Database(d)
                if d.constraint() == Some("ledger_earnings_project_active") =>
            {
                if let Err(e) = tx.rollback().await {
                    return e.into();
                }
                match self.project_state(project).await {
                    Ok(state) => Error::ProjectNotActive { project, state },
                    Err(e) => e,
                }
            }
            err => err.into(),
        }
    }

    /// Approves a batch of earnings of one project in one transaction: the same rules and
    /// the same rows as [`Ledger::approve_earning`] for each (earning `approved`, entry
    /// `approve:<id>`), a few statements in all instead of a transaction per earning.
    /// Idempotent per submission key: keys approved before come back with
    /// `newly_created = false` (or [`Error::ApprovalConflict`] if their content differs);
    /// a project that is closing or closed takes none of the batch
    /// ([`Error::ProjectNotActive`]: nothing is written). The answers are in the batch's order.
    pub async fn approve_earnings(&self, batch: &[NewEarning]) -> Result<Vec<Approval>> {
        let Some(first) = batch.first() else {
            return Ok(Vec::new());
        };
        let mut keys_seen = std::collections::HashSet::with_capacity(batch.len());
        for e in batch {
            check_new_earning(e)?;
            if e.project != first.project {
                return Err(Error::invalid("project", "a batch holds one project"));
            }
            // One statement inserts the batch: a key twice in it would have its second
            // content answered as the first one's earning, never compared.
            if !keys_seen.insert(e.submission_key.as_str()) {
                return Err(Error::invalid(
                    "submission_key",
                    format!("{} appears twice in one batch", e.submission_key),
                ));
            }
            i128::try_from(e.amount).map_err(|_| Error::invalid("amount", "too large"))?;
        }
        let project = self
            .project(first.project)
            .await?
            .ok_or(Error::UnknownProject(first.project))?;
        let col = |f: fn(&NewEarning) -> String| batch.iter().map(f).collect::<Vec<String>>();
        let keys = col(|e| e.submission_key.clone());
        let mut tx = self.pool.begin().await?;
        let created: std::result::Result<Vec<(i64, String)>, sqlx::Error> = sqlx::query_as(
            "INSERT INTO ledger_earnings \
                 (submission_key, worker, payout_address, project_id, currency, amount, decision_id) \
             SELECT k, w, a, $4::text::numeric, $5, v::numeric, d \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $6::text[], $7::text[]) \
                 WITH ORDINALITY AS t(k, w, a, v, d, n) ORDER BY n \
             ON CONFLICT (submission_key) DO NOTHING RETURNING id, submission_key",
        )
        .bind(&keys)
        .bind(col(|e| e.worker.clone()))
        .bind(col(|e| e.payout_address.as_str().to_owned()))
        .bind(first.project.0.to_string())
        .bind(project.currency.as_str())
        .bind(col(|e| e.amount.to_string()))
        .bind(col(|e| e.decision_id.clone()))
        .fetch_all(&mut *tx)
        .await;
        let created = match created {
            Ok(c) => c,
            Err(err) => return Err(self.insert_refused(tx, first.project, err).await),
        };
        let by_key: std::collections::HashMap<&str, &NewEarning> = batch
            .iter()
            .map(|e| (e.submission_key.as_str(), e))
            .collect();
        let mut new_ids = std::collections::HashMap::new();
        let (mut ids, mut entry_keys, mut memos) = (Vec::new(), Vec::new(), Vec::new());
        let (mut accounts, mut amounts) = (Vec::new(), Vec::new());
        for (id, key) in &created {
            let earning_id = EarningId::from_sql(*id)?;
            let e = by_key
                .get(key.as_str())
                .ok_or_else(|| Error::UnknownEarning(key.clone()))?;
            new_ids.insert(key.clone(), earning_id);
            ids.push(*id);
            entry_keys.push(format!("approve:{earning_id}"));
            memos.push(format!("decision {}", e.decision_id));
            // The same two lines as `approve_earning`: client debit, payable credit.
            accounts.push(Account::Client(e.project).to_string());
            accounts.push(Account::Payable(e.worker.clone()).to_string());
            amounts.push(e.amount.to_string());
            amounts.push(format!("-{}", e.amount));
        }
        if !ids.is_empty() {
            let entries: Vec<i64> = sqlx::query_scalar(
                "WITH e AS (INSERT INTO ledger_journal_entries \
                     (key, kind, currency, project_id, earning_id, memo) \
                 SELECT k, $2, $3, $4::text::numeric, i, m \
                 FROM UNNEST($1::text[], $5::bigint[], $6::text[]) WITH ORDINALITY AS t(k, i, m, n) \
                 ORDER BY n RETURNING id, earning_id) \
                 SELECT e.id FROM e JOIN UNNEST($5::bigint[]) WITH ORDINALITY AS t(i, n) \
                   ON t.i = e.earning_id ORDER BY t.n",
            )
            .bind(&entry_keys)
            .bind(EntryKind::Approve.as_str())
            .bind(project.currency.as_str())
            .bind(first.project.0.to_string())
            .bind(&ids)
            .bind(&memos)
            .fetch_all(&mut *tx)
            .await?;
            if entries.len() != ids.len() {
                return Err(Error::invalid(
                    "journal entry",
                    "an approve:<id> entry existed before its earning",
                ));
            }
            let entry_of_line: Vec<i64> = entries.iter().flat_map(|id| [*id, *id]).collect();
            let numbers: Vec<i16> = entries.iter().flat_map(|_| [0i16, 1]).collect();
            sqlx::query(
                "INSERT INTO ledger_journal_lines (entry_id, line_no, account, currency, amount) \
                 SELECT e, n, a, $1, v::numeric \
                 FROM UNNEST($2::bigint[], $3::smallint[], $4::text[], $5::text[]) AS t(e, n, a, v)",
            )
            .bind(project.currency.as_str())
            .bind(&entry_of_line)
            .bind(&numbers)
            .bind(&accounts)
            .bind(&amounts)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        if !created.is_empty() {
            tracing::info!(project = %first.project, created = created.len(), "earnings approved");
        }
        let mut out = Vec::with_capacity(batch.len());
        for e in batch {
            if let Some(id) = new_ids.get(&e.submission_key) {
                out.push(Approval {
                    earning_id: *id,
                    newly_created: true,
                });
            } else {
                // Approved before: the single path compares the content and answers.
                out.push(self.approve_earning(e).await?);
            }
        }
        Ok(out)
    }

    /// An earning by id.
    pub async fn earning(&self, id: EarningId) -> Result<Option<Earning>> {
        let mut conn = self.pool.acquire().await?;
        earning_in(&mut conn, id).await
    }

    /// An earning by the submission key it was approved under.
    pub async fn earning_by_submission(&self, submission_key: &str) -> Result<Option<Earning>> {
        let sql =
            format!("SELECT {EARNING_COLUMNS} FROM ledger_earnings WHERE submission_key = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(submission_key)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| earning_of(&r))
            .transpose()
    }

    /// Records a later re-estimate of an approved submission. The earning is never changed:
    /// a paid earning stays paid (issue 6), and an unpaid one stays approved unless the caller
    /// also calls [`Ledger::revoke_earning`]. Idempotent per (earning, decision id): the same
    /// decision again returns `newly_recorded = false`.
    pub async fn record_reestimate(&self, r: &Reestimate) -> Result<ReestimateRecord> {
        check_text("decision_id", &r.decision_id, 512)?;
        if r.amount > MAX_AMOUNT {
            return Err(Error::invalid("amount", "above 2^120"));
        }
        let earning = self
            .earning_by_submission(&r.submission_key)
            .await?
            .ok_or_else(|| Error::UnknownEarning(r.submission_key.clone()))?;
        let inserted = sqlx::query(
            "INSERT INTO ledger_reestimates (earning_id, decision_id, amount, note, earning_state) \
             SELECT id, $2, $3::text::numeric, $4, state FROM ledger_earnings WHERE id = $1 \
             ON CONFLICT DO NOTHING",
        )
        .bind(earning.id.sql())
        .bind(&r.decision_id)
        .bind(r.amount.to_string())
        .bind(&r.note)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        let state: String = sqlx::query_scalar(
            "SELECT earning_state FROM ledger_reestimates WHERE earning_id = $1 AND decision_id = $2",
        )
        .bind(earning.id.sql())
        .bind(&r.decision_id)
        .fetch_one(&self.pool)
        .await?;
        if inserted {
            tracing::info!(earning = %earning.id, decision = %r.decision_id, state = %state, "re-estimate recorded");
        }
        Ok(ReestimateRecord {
            earning_id: earning.id,
            earning_state: EarningState::parse(&state)?,
            newly_recorded: inserted,
        })
    }

    /// The re-estimates recorded for an earning: (decision id, amount, note), oldest first.
    pub async fn reestimates(&self, id: EarningId) -> Result<Vec<(String, u128, String)>> {
        let rows = sqlx::query(
            "SELECT decision_id, amount::text AS amount, note FROM ledger_reestimates \
             WHERE earning_id = $1 ORDER BY recorded_at, decision_id",
        )
        .bind(id.sql())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("decision_id")?,
                    parse_u128("amount", &r.try_get::<String, _>("amount")?)?,
                    r.try_get("note")?,
                ))
            })
            .collect()
    }

    /// Withdraws an earning that was never batched (state `approved`): state `revoked` and the
    /// reversing entry `revoke:<id>`, in one transaction; `decision_id` is the re-estimate that
    /// justifies it (recorded in the entry's memo). Refused with
    /// [`Error::IllegalEarningTransition`] once the earning is batched, signed, sent or paid.
    /// Revoking a revoked earning again is a no-op ([`crate::Transition::AlreadyApplied`]).
    pub async fn revoke_earning(
        &self,
        id: EarningId,
        decision_id: &str,
    ) -> Result<crate::Transition> {
        check_text("decision_id", decision_id, 512)?;
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {EARNING_COLUMNS} FROM ledger_earnings WHERE id = $1 FOR UPDATE");
        let earning = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.sql())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| earning_of(&r))
            .transpose()?
            .ok_or_else(|| Error::UnknownEarning(id.to_string()))?;
        match earning.state {
            EarningState::Revoked => return Ok(crate::Transition::AlreadyApplied),
            EarningState::Approved => {}
            from => {
                return Err(Error::IllegalEarningTransition {
                    earning: id,
                    from,
                    to: EarningState::Revoked,
                });
            }
        }
        sqlx::query(
            "UPDATE ledger_earnings SET state = 'revoked', state_changed_at = now() \
             WHERE id = $1 AND state = 'approved'",
        )
        .bind(id.sql())
        .execute(&mut *tx)
        .await?;
        let amount =
            i128::try_from(earning.amount).map_err(|_| Error::corrupt("amount", "too large"))?;
        let mut entry = NewEntry::new(format!("revoke:{id}"), EntryKind::Revoke, &earning.currency)
            .line(Account::Payable(earning.worker.clone()), amount)
            .line(Account::Client(earning.project), -amount);
        entry.project = Some(earning.project);
        entry.earning = Some(id);
        entry.memo = format!("decision {decision_id}");
        post(&mut tx, &entry).await?;
        tx.commit().await?;
        tracing::info!(earning = %id, decision = %decision_id, "earning revoked");
        Ok(crate::Transition::Applied)
    }
}

pub(crate) async fn earning_in(conn: &mut PgConnection, id: EarningId) -> Result<Option<Earning>> {
    let sql = format!("SELECT {EARNING_COLUMNS} FROM ledger_earnings WHERE id = $1");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.sql())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| earning_of(&r))
        .transpose()
}

pub(crate) fn earning_of(r: &PgRow) -> Result<Earning> {
    Ok(Earning {
        id: EarningId::from_sql(r.try_get("id")?)?,
        submission_key: r.try_get("submission_key")?,
        worker: r.try_get("worker")?,
        payout_address: RawAddress::parse(&r.try_get::<String, _>("payout_address")?)?,
        project: ProjectId(parse_u64(
            "project id",
            &r.try_get::<String, _>("project_id")?,
        )?),
        currency: CurrencyCode::new(&r.try_get::<String, _>("currency")?)?,
        amount: parse_u128("amount", &r.try_get::<String, _>("amount")?)?,
        decision_id: r.try_get("decision_id")?,
        state: EarningState::parse(&r.try_get::<String, _>("state")?)?,
        approved_at: r.try_get("approved_at")?,
    })
}
