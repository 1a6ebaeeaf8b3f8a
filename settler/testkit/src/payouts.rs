//! Earnings in, payouts out: one earning approved by hand, and what the chain and the ledger
//! show of the payouts.

use labelmint_ledger::{EarningId, NewEarning, ProjectId, RawAddress};
use tycho_types::models::StdAddr;

use crate::{Stack, raw};

impl Stack {
    /// Asserts that each worker's TON balance on chain is the sum of its `earnings` (paid
    /// once: a second payment would add at least 0.01 TON; an uninit account pays at most
    /// dust in storage).
    pub fn assert_ton_paid_once(&self, earnings: &[(RawAddress, u128)]) {
        let mut owed: std::collections::BTreeMap<&RawAddress, u128> = Default::default();
        for (worker, amount) in earnings {
            *owed.entry(worker).or_default() += amount;
        }
        for (worker, sum) in owed {
            let got = self.balance(&crate::std_addr(worker));
            assert!(
                got <= sum && got + 10_000 >= sum,
                "{worker}: on chain {got}, owed {sum}"
            );
        }
    }

    /// Approves one earning of `project` (submission `key`, decision `decision-<key>`) for
    /// `worker`, paid to `to`; returns its id.
    pub async fn approve_earning(
        &self,
        project: u64,
        key: &str,
        worker: &str,
        to: &RawAddress,
        amount: u128,
    ) -> EarningId {
        self.ledger
            .approve_earning(&NewEarning {
                submission_key: key.into(),
                worker: worker.into(),
                payout_address: to.clone(),
                project: ProjectId(project),
                amount,
                decision_id: format!("decision-{key}"),
            })
            .await
            .expect("approve")
            .earning_id
    }

    /// The outgoing internal messages of the transaction in which `vault` executed query id
    /// `query_id` (indexed): (destination, value, bounce flag), in order.
    pub async fn vault_payouts(&self, vault: &StdAddr, query_id: u64) -> Vec<(String, u128, bool)> {
        let rows: Vec<(String, String, bool)> = sqlx::query_as(
            "SELECT m.dst, m.value::text, m.bounce FROM events e \
             JOIN messages m ON m.tx_hash = e.tx_hash AND m.direction = 'out' \
                AND m.msg_kind = 'int' \
             WHERE e.contract = $1 AND e.kind = 'ev_batch_executed' \
                AND e.query_id = $2::numeric \
             ORDER BY m.idx",
        )
        .bind(raw(vault).to_string())
        .bind(query_id.to_string())
        .fetch_all(&self.pool)
        .await
        .expect("payout messages");
        rows.into_iter()
            .map(|(d, v, b)| (d, v.parse().expect("value"), b))
            .collect()
    }

    /// Per earning with a paid attempt: (earning id, how many of its attempts were paid).
    pub async fn paid_attempts(&self) -> Vec<(i64, i64)> {
        sqlx::query_as(
            "SELECT earning_id, count(*) FROM ledger_batch_items WHERE outcome = 'paid' \
             GROUP BY earning_id",
        )
        .fetch_all(&self.pool)
        .await
        .expect("paid attempts")
    }
}
