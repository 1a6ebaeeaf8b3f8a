//! A project's lifecycle: `active -> closing -> closed` (see [`ProjectState`]).
//!
//! The client or an admin asks for the close ([`Ledger::request_close`]); from then on the
//! project takes no new earnings (a database trigger, so no writer goes around it), and the
//! payout signer may sign the escrow's close once the final release of what is approved and
//! unreleased is confirmed or signed before it ([`Ledger::close_facts`] is what it reads). The
//! escrow's `ev_closed`, taken in by [`Ledger::ingest_chain_events`], makes it `closed`.

use sqlx::{PgConnection, Row};

use crate::Ledger;
use crate::error::{Error, Result};
use crate::model::ProjectFunding;
use crate::num::{parse_u64, u32_of};
use crate::state::{ProjectState, Transition};
use crate::types::{ChainRef, ProjectId};

/// What the payout signer needs to bound an escrow release ([`Ledger::release_facts`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFacts {
    /// Approved, released, releasable.
    pub funding: ProjectFunding,
    /// The seqnos of the escrow's `ev_release` events the journal has posted, read before
    /// `funding` (`None` when they cannot be read).
    pub released_seqnos: Option<Vec<u32>>,
}

/// What the payout signer needs to decide an escrow close, read at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFacts {
    /// The project.
    pub project: ProjectId,
    /// Its state.
    pub state: ProjectState,
    /// Approved, released on chain (indexed), releasable.
    pub funding: ProjectFunding,
    /// The seqnos of the escrow's `ev_release` events the journal has posted (those releases
    /// are in `funding.released`). `None` when they cannot be read (the indexer's `events` are
    /// not readable, or a posted release has no seqno): then no signed release may be assumed
    /// to be outside `funding.released`.
    pub released_seqnos: Option<Vec<u32>>,
    /// The unix time of the indexer's checkpoint masterchain block (chain time), `None` when the
    /// indexer's tables are not here or not readable.
    pub chain_time: Option<u32>,
    /// The indexer has an `ev_closed` of the escrow (whether or not ingested yet).
    pub closed_on_chain: bool,
}

impl Ledger {
    /// Asks for the project's close (`by`: who asked, e.g. `client:<address>` or
    /// `admin:<name>`; 1..=256 bytes). `active -> closing`: from now on the project takes no
    /// new earnings. Closing again is [`Transition::AlreadyApplied`] (the first request stays
    /// recorded); a closed project is [`Error::IllegalProjectTransition`]. There is no way
    /// back: a close may have been signed.
    pub async fn request_close(&self, project: ProjectId, by: &str) -> Result<Transition> {
        if by.is_empty() || by.len() > 256 || by.chars().any(char::is_control) {
            return Err(Error::invalid(
                "by",
                "must be 1..=256 bytes without control characters",
            ));
        }
        let mut tx = self.pool.begin().await?;
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM ledger_projects WHERE project_id = $1::text::numeric FOR UPDATE",
        )
        .bind(project.0.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let state = ProjectState::parse(&state.ok_or(Error::UnknownProject(project))?)?;
        let outcome = match state {
            ProjectState::Active => {
                sqlx::query(
                    "UPDATE ledger_projects SET state = 'closing', close_requested_by = $2, \
                     close_requested_at = now(), state_changed_at = now() \
                     WHERE project_id = $1::text::numeric AND state = 'active'",
                )
                .bind(project.0.to_string())
                .bind(by)
                .execute(&mut *tx)
                .await?;
                tracing::info!(%project, by, "project closing: no new earnings");
                Transition::Applied
            }
            ProjectState::Closing => Transition::AlreadyApplied,
            ProjectState::Closed => {
                return Err(Error::IllegalProjectTransition {
                    project,
                    from: ProjectState::Closed,
                    to: ProjectState::Closing,
                });
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The project's state.
    pub async fn project_state(&self, project: ProjectId) -> Result<ProjectState> {
        let state: Option<String> = sqlx::query_scalar(
            "SELECT state FROM ledger_projects WHERE project_id = $1::text::numeric",
        )
        .bind(project.0.to_string())
        .fetch_optional(&self.pool)
        .await?;
        ProjectState::parse(&state.ok_or(Error::UnknownProject(project))?)
    }

    /// What the payout signer reads to decide the escrow's close (see [`CloseFacts`]).
    ///
    /// Read in this order, one connection at a time: the state, the funding, then the indexed
    /// seqnos. A release ingested in between is then in the seqnos but not in the funding:
    /// it counts nowhere, which can only make the close wait (never count a release twice).
    pub async fn close_facts(&self, project: ProjectId) -> Result<CloseFacts> {
        let row = sqlx::query(
            "SELECT state, escrow FROM ledger_projects WHERE project_id = $1::text::numeric",
        )
        .bind(project.0.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(Error::UnknownProject(project))?;
        let state = ProjectState::parse(&row.try_get::<String, _>("state")?)?;
        let escrow: String = row.try_get("escrow")?;
        let funding = self.project_funding(project).await?;
        let mut conn = self.pool.acquire().await?;
        let readable = indexer_readable(&mut conn).await?;
        let released_seqnos = posted_seqnos(&mut conn, project, readable).await?;
        let (chain_time, closed_on_chain) = if readable {
            (
                Some(chain_time(&mut conn).await?),
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM events WHERE contract = $1 AND kind = 'ev_closed')",
                )
                .bind(&escrow)
                .fetch_one(&mut *conn)
                .await?,
            )
        } else {
            (None, false)
        };
        Ok(CloseFacts {
            project,
            state,
            funding,
            released_seqnos,
            chain_time,
            closed_on_chain,
        })
    }
}

impl Ledger {
    /// What the payout signer reads to bound an escrow release (see [`ReleaseFacts`]).
    ///
    /// Read in this order: the seqnos of the posted releases, THEN the funding (the reverse of
    /// [`Ledger::close_facts`]). A release ingested in between is in the funding's "released"
    /// but not in the seqnos, so the signer counts it twice (released, and still pending if
    /// live): a release may wait for it, never exceed what is approved.
    pub async fn release_facts(&self, project: ProjectId) -> Result<ReleaseFacts> {
        let mut conn = self.pool.acquire().await?;
        let readable = indexer_readable(&mut conn).await?;
        let released_seqnos = posted_seqnos(&mut conn, project, readable).await?;
        drop(conn);
        let funding = self.project_funding(project).await?;
        Ok(ReleaseFacts {
            funding,
            released_seqnos,
        })
    }
}

/// The seqnos of the project's posted releases: from the indexed events when `readable`;
/// otherwise no release can have been posted, so an empty list is exact only if the journal
/// has no release of this project (`None` when it has one).
async fn posted_seqnos(
    conn: &mut PgConnection,
    project: ProjectId,
    readable: bool,
) -> Result<Option<Vec<u32>>> {
    if readable {
        return released_seqnos(conn, project).await;
    }
    let posted: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM ledger_journal_entries \
         WHERE project_id = $1::text::numeric AND kind = 'release')",
    )
    .bind(project.0.to_string())
    .fetch_one(&mut *conn)
    .await?;
    Ok((!posted).then(Vec::new))
}

/// Whether the indexer's `events`, `blocks` and `checkpoint` are here and readable by the
/// current role.
async fn indexer_readable(conn: &mut PgConnection) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(has_table_privilege(to_regclass('events'), 'SELECT') \
             AND has_table_privilege(to_regclass('blocks'), 'SELECT') \
             AND has_table_privilege(to_regclass('checkpoint'), 'SELECT'), false)",
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The checkpoint block's unix time (0 before the first block).
async fn chain_time(conn: &mut PgConnection) -> Result<u32> {
    let t: Option<i64> = sqlx::query_scalar(
        "SELECT b.gen_utime FROM checkpoint c JOIN blocks b \
             ON b.workchain = -1 AND b.seqno = c.mc_seqno",
    )
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    u32_of("gen_utime", t.unwrap_or(0))
}

/// The seqnos of the project's posted `ev_release` entries (`None` if one has none).
async fn released_seqnos(conn: &mut PgConnection, project: ProjectId) -> Result<Option<Vec<u32>>> {
    let rows = sqlx::query(
        "SELECT ev.fields->>'seqno' AS seqno FROM ledger_journal_entries je \
         LEFT JOIN events ev ON ev.tx_hash = je.tx_hash AND ev.msg_idx = je.msg_idx \
         WHERE je.project_id = $1::text::numeric AND je.kind = 'release'",
    )
    .bind(project.0.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(s) = r.try_get::<Option<String>, _>("seqno")? else {
            return Ok(None);
        };
        let n = parse_u64("ev_release seqno", &s)?;
        out.push(u32::try_from(n).map_err(|_| Error::corrupt("ev_release seqno", s))?);
    }
    out.sort_unstable();
    out.dedup();
    Ok(Some(out))
}

/// Ingestion of `ev_closed`: the project is closed (from active too: the client's refund at or
/// after the deadline closes an active escrow).
pub(crate) async fn mark_closed(
    tx: &mut PgConnection,
    project: ProjectId,
    chain: &ChainRef,
) -> Result<()> {
    let n = sqlx::query(
        "UPDATE ledger_projects SET state = 'closed', closed_tx = $2, closed_at_chain = $3, \
         state_changed_at = now() WHERE project_id = $1::text::numeric AND state <> 'closed'",
    )
    .bind(project.0.to_string())
    .bind(chain.tx_hash.to_vec())
    .bind(i64::from(chain.now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 1 {
        tracing::info!(%project, tx = %hex::encode(chain.tx_hash), "project closed on chain");
    }
    Ok(())
}
