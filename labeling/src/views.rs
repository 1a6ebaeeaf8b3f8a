//! The client's views: progress, per-worker quality, estimated accuracy, decided labels
//! (JSON lines and CSV).

use sqlx::Row;

use crate::error::Result;
use crate::model::{DecidedLabel, Progress, WorkerQuality};
use crate::service::Labeling;

fn u(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Labeling {
    /// Tasks decided, needing more, unresolved, open; answers; live reservations.
    pub async fn progress(&self, project: u64) -> Result<Progress> {
        self.require_task_set(project).await?;
        let r = sqlx::query(
            "SELECT count(*) FILTER (WHERE NOT l.gold) AS tasks, \
                 count(*) FILTER (WHERE l.gold) AS gold, \
                 count(*) FILTER (WHERE ct.state = 'decided') AS decided, \
                 count(*) FILTER (WHERE ct.state = 'needs_more') AS needs_more, \
                 count(*) FILTER (WHERE ct.state = 'unresolved') AS unresolved, \
                 count(*) FILTER (WHERE ct.state = 'open') AS open, \
                 COALESCE(sum(l.answers) FILTER (WHERE NOT l.gold), 0)::bigint AS answers, \
                 (SELECT count(*) FROM labeling_reservations r \
                    WHERE r.project_id = $1::text::numeric AND r.state = 'live' \
                      AND r.expires_ms > $2) AS live \
             FROM labeling_tasks l LEFT JOIN consensus_tasks ct \
               ON ct.project_id = l.project_id AND ct.task = l.name \
             WHERE l.project_id = $1::text::numeric",
        )
        .bind(project.to_string())
        .bind(self.now_ms())
        .fetch_one(&self.inner.pool)
        .await?;
        Ok(Progress {
            tasks: u(r.try_get("tasks")?),
            gold_tasks: u(r.try_get("gold")?),
            decided: u(r.try_get("decided")?),
            needs_more: u(r.try_get("needs_more")?),
            unresolved: u(r.try_get("unresolved")?),
            open: u(r.try_get("open")?),
            answers: u(r.try_get("answers")?),
            live_reservations: u(r.try_get("live")?),
        })
    }

    /// Every worker's quality: answers, gold answers and errors, cut off, the engine's
    /// accuracy, and the agreement of their answers with decided labels.
    pub async fn worker_quality(&self, project: u64) -> Result<Vec<WorkerQuality>> {
        self.require_task_set(project).await?;
        let rows = sqlx::query(
            "WITH latest AS (SELECT DISTINCT ON (task) task, label FROM consensus_decisions \
                 WHERE project_id = $1::text::numeric AND kind = 'decision' AND state = 'decided' \
                 ORDER BY task, seq DESC), \
             agree AS (SELECT s.worker, count(*) AS n, \
                 count(*) FILTER (WHERE s.label = l.label) AS ok \
                 FROM consensus_submissions s JOIN latest l ON l.task = s.task \
                 WHERE s.project_id = $1::text::numeric GROUP BY s.worker) \
             SELECT w.worker, w.answers::bigint AS answers, w.gold_answers::bigint AS gold_answers, \
                 w.gold_errors::bigint AS gold_errors, w.flagged, w.accuracy, a.n, a.ok \
             FROM consensus_worker_stats w LEFT JOIN agree a ON a.worker = w.worker \
             WHERE w.project_id = $1::text::numeric ORDER BY w.worker",
        )
        .bind(project.to_string())
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let n: Option<i64> = r.try_get("n")?;
                let ok: Option<i64> = r.try_get("ok")?;
                Ok(WorkerQuality {
                    worker: r.try_get("worker")?,
                    answers: r.try_get("answers")?,
                    gold_answers: r.try_get("gold_answers")?,
                    gold_errors: r.try_get("gold_errors")?,
                    cut_off: r.try_get("flagged")?,
                    accuracy: r.try_get("accuracy")?,
                    agreement: match (n, ok) {
                        (Some(n), Some(ok)) if n > 0 => Some(ok as f64 / n as f64),
                        _ => None,
                    },
                })
            })
            .collect()
    }

    /// The estimated accuracy of the decided labels: the mean posterior confidence of the
    /// latest decisions (`None`: nothing decided yet).
    pub async fn estimated_accuracy(&self, project: u64) -> Result<Option<f64>> {
        let v: Option<f64> = sqlx::query_scalar(
            "SELECT avg(confidence) FROM (SELECT DISTINCT ON (task) confidence, state \
                 FROM consensus_decisions WHERE project_id = $1::text::numeric \
                   AND kind = 'decision' ORDER BY task, seq DESC) d WHERE state = 'decided'",
        )
        .bind(project.to_string())
        .fetch_one(&self.inner.pool)
        .await?;
        Ok(v)
    }

    /// The decided labels, by task name.
    pub async fn decided_labels(&self, project: u64) -> Result<Vec<DecidedLabel>> {
        self.require_task_set(project).await?;
        let rows = sqlx::query(
            "SELECT d.task, d.label, d.confidence, cardinality(d.submission_ids) AS n \
             FROM (SELECT DISTINCT ON (task) task, label, confidence, state, submission_ids \
                   FROM consensus_decisions WHERE project_id = $1::text::numeric \
                     AND kind = 'decision' ORDER BY task, seq DESC) d \
             JOIN consensus_tasks t ON t.project_id = $1::text::numeric AND t.task = d.task \
             WHERE d.state = 'decided' AND t.state = 'decided' AND d.label IS NOT NULL \
             ORDER BY d.task COLLATE \"C\"",
        )
        .bind(project.to_string())
        .fetch_all(&self.inner.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DecidedLabel {
                    name: r.try_get("task")?,
                    label: r.try_get("label")?,
                    confidence: r.try_get("confidence")?,
                    answers: usize::try_from(r.try_get::<i32, _>("n")?).unwrap_or(0),
                })
            })
            .collect()
    }
}

/// Decided labels as JSON lines (`{"name","label","confidence","answers"}` per line).
pub fn to_json_lines(labels: &[DecidedLabel]) -> String {
    let mut out = String::new();
    for l in labels {
        out.push_str(&serde_json::to_string(l).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Decided labels as CSV (`name,label,confidence,answers`).
pub fn to_csv(labels: &[DecidedLabel]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| crate::error::Error::invalid("export", e.to_string());
    w.write_record(["name", "label", "confidence", "answers"])
        .map_err(io)?;
    for l in labels {
        w.write_record([
            l.name.as_str(),
            l.label.as_str(),
            &format!("{:.6}", l.confidence),
            &l.answers.to_string(),
        ])
        .map_err(io)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| crate::error::Error::invalid("export", e.to_string()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
