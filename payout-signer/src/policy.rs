//! The policy's rules as pure functions over what the signing transaction read: no I/O, no
//! keys, no clock (the caller passes `now`). Each returns the rule that refused.

use std::collections::HashMap;

use labelmint_abi::vault::VaultBatchRequest;

use crate::config::{CurrencyCaps, FloatLimits, Limits};
use crate::error::{Error, Result};
use crate::ledger::{BatchState, CloseView, PayoutItem, ProjectState};
use crate::rules::Rule;
use crate::wire::raw_address;

/// Escrow requests: `now < valid_until <= now + max_ttl`.
pub fn check_valid_until(valid_until: u64, now: u64, max_ttl: u32) -> Result<()> {
    if valid_until <= now {
        return Err(Error::refused(
            Rule::Expired,
            format!("valid_until {valid_until} is not after now ({now})"),
        ));
    }
    if valid_until - now > u64::from(max_ttl) {
        return Err(Error::refused(
            Rule::Ttl,
            format!(
                "valid_until {valid_until} is {}s ahead; the maximum TTL is {max_ttl}s",
                valid_until - now
            ),
        ));
    }
    Ok(())
}

/// Vault batches: the vault accepts `now - timeout < created_at <= now`, so the batch is live
/// until `created_at + timeout`; created_at must not be in the future and that end must be
/// within the TTL. Returns valid_until.
pub fn check_created_at(created_at: u32, timeout: u32, now: u64, max_ttl: u32) -> Result<u64> {
    if u64::from(created_at) > now {
        return Err(Error::refused(
            Rule::Expired,
            format!(
                "created_at {created_at} is in the future (now {now}); the vault would refuse it"
            ),
        ));
    }
    let valid_until = u64::from(created_at) + u64::from(timeout);
    check_valid_until(valid_until, now, max_ttl)?;
    Ok(valid_until)
}

/// The caps of `currency` (a currency without configured caps is refused).
pub fn caps_of<'a>(limits: &'a Limits, currency: &str) -> Result<&'a CurrencyCaps> {
    limits.caps.get(currency).ok_or_else(|| {
        Error::refused(
            Rule::CapDay,
            format!("no caps are configured for currency {currency}: refusing"),
        )
    })
}

/// Per-batch item and amount caps.
pub fn check_batch_caps(
    req: &VaultBatchRequest,
    limits: &Limits,
    caps: &CurrencyCaps,
) -> Result<u128> {
    if req.items.len() > limits.max_batch_items {
        return Err(Error::refused(
            Rule::BatchItems,
            format!(
                "{} items; the per-batch cap is {}",
                req.items.len(),
                limits.max_batch_items
            ),
        ));
    }
    let total = req.total()?;
    if total > caps.batch {
        return Err(Error::refused(
            Rule::BatchAmount,
            format!(
                "batch total {total} is above the per-batch cap {}",
                caps.batch
            ),
        ));
    }
    Ok(total)
}

/// Every item of the request is a payout item of the ledger, in the ledger's batch with the
/// request's vault and query id, with the same destination, amount and currency; the
/// earnings the ledger grouped under it are approved, in that currency, to that destination,
/// and sum to the item's amount; none of them is in another live or paid batch of the ledger,
/// nor in two items of the request.
pub fn check_items_against_ledger(
    req: &VaultBatchRequest,
    currency: &str,
    items: &HashMap<u64, PayoutItem>,
) -> Result<()> {
    let this = (raw_address(&req.vault), req.query_id);
    let mut seen = std::collections::HashSet::new();
    for item in &req.items {
        let id = item.item_id;
        let Some(p) = items.get(&id) else {
            return Err(Error::refused(
                Rule::ItemNotApproved,
                format!("item {id} is not a payout item of the ledger"),
            ));
        };
        if (&p.vault, p.query_id) != (&this.0, this.1) {
            // The item belongs to another batch of the ledger: held there (live or paid), or
            // not this request's at all.
            let held = p
                .earnings
                .iter()
                .flat_map(|e| &e.batches)
                .any(|b| b.state.holds() && b.vault == p.vault && b.query_id == p.query_id);
            return Err(Error::refused(
                if held {
                    Rule::ItemAlreadyBatched
                } else {
                    Rule::ItemMismatch
                },
                format!(
                    "item {id} is the ledger's item of {}batch (vault {}, query id {}), not of this request",
                    if held { "another live or paid " } else { "" },
                    p.vault,
                    p.query_id
                ),
            ));
        }
        let dest = raw_address(&item.dest);
        if p.dest != dest {
            return Err(Error::refused(
                Rule::ItemMismatch,
                format!(
                    "item {id}: dest {dest} is not the item's payout address {}",
                    p.dest
                ),
            ));
        }
        if p.amount != item.amount {
            return Err(Error::refused(
                Rule::ItemMismatch,
                format!(
                    "item {id}: amount {} differs from the ledger's item {}",
                    item.amount, p.amount
                ),
            ));
        }
        if p.currency != currency {
            return Err(Error::refused(
                Rule::ItemMismatch,
                format!(
                    "item {id}: the item is in {}, the vault pays {currency}",
                    p.currency
                ),
            ));
        }
        if p.earnings.is_empty() {
            return Err(Error::refused(
                Rule::ItemNotApproved,
                format!("item {id} groups no earning in the ledger"),
            ));
        }
        let mut sum: u128 = 0;
        for e in &p.earnings {
            let eid = e.id;
            if !e.approved {
                return Err(Error::refused(
                    Rule::ItemNotApproved,
                    format!("item {id}: earning {eid} is not approved in the ledger"),
                ));
            }
            if e.worker != dest {
                return Err(Error::refused(
                    Rule::ItemMismatch,
                    format!(
                        "item {id}: dest {dest} is not the payout address {} of its earning {eid}",
                        e.worker
                    ),
                ));
            }
            if e.currency != currency {
                return Err(Error::refused(
                    Rule::ItemMismatch,
                    format!(
                        "item {id}: earning {eid} is in {}, the vault pays {currency}",
                        e.currency
                    ),
                ));
            }
            sum = sum.saturating_add(e.amount);
            if !seen.insert(eid) {
                return Err(Error::refused(
                    Rule::ItemAlreadyBatched,
                    format!("earning {eid} is in two items of this request"),
                ));
            }
            if let Some(b) = e
                .batches
                .iter()
                .find(|b| b.state.holds() && (&b.vault, b.query_id) != (&this.0, this.1))
            {
                return Err(Error::refused(
                    Rule::ItemAlreadyBatched,
                    format!(
                        "item {id}: earning {eid} is in another {} batch (vault {}, query id {})",
                        b.state, b.vault, b.query_id
                    ),
                ));
            }
        }
        if sum != item.amount {
            return Err(Error::refused(
                Rule::ItemMismatch,
                format!(
                    "item {id}: amount {} differs from the sum {sum} of its {} earnings",
                    item.amount,
                    p.earnings.len()
                ),
            ));
        }
    }
    Ok(())
}

/// An earning signed before (by this signer, in an item of another batch) may be signed again
/// only when that earlier signature can never pay it: its batch was executed and the
/// earning's item came back, as the indexer saw it (the vault never executes a query id twice),
/// or its valid_until has passed AND the ledger explicitly calls that batch expired or the item
/// bounced. Anything else (still live; the ledger silent) is refused. `earlier`: `(earning id,
/// vault, query_id, valid_until)` of earlier signatures of the request's earnings in other
/// batches; `items`: the ledger's view of the request's items (their earnings' batches).
pub fn check_items_against_journal(
    earlier: &[(u64, String, u64, u64)],
    items: &HashMap<u64, PayoutItem>,
    now: u64,
) -> Result<()> {
    let released = |vault: &str, q: u64, id: u64| {
        attempts(items, vault, q, id)
            .any(|b| matches!(b.state, BatchState::Expired | BatchState::Bounced))
    };
    let came_back = |vault: &str, q: u64, id: u64| {
        attempts(items, vault, q, id).any(|b| b.state == BatchState::Bounced && b.bounce_indexed)
    };
    for (id, vault, q, valid_until) in earlier {
        if came_back(vault, *q, *id) {
            continue;
        }
        if *valid_until >= now {
            return Err(Error::refused(
                Rule::ItemAlreadyBatched,
                format!(
                    "earning {id} was signed in batch (vault {vault}, query id {q}) which is live until {valid_until}"
                ),
            ));
        }
        if !released(vault, *q, *id) {
            return Err(Error::refused(
                Rule::ItemAlreadyBatched,
                format!(
                    "earning {id} was signed in batch (vault {vault}, query id {q}) and the ledger does not say it expired or bounced"
                ),
            ));
        }
    }
    Ok(())
}

/// The ledger's attempts of earning `id` in the batch (`vault`, `q`).
fn attempts<'a>(
    items: &'a HashMap<u64, PayoutItem>,
    vault: &'a str,
    q: u64,
    id: u64,
) -> impl Iterator<Item = &'a crate::ledger::BatchRef> + 'a {
    items
        .values()
        .flat_map(|p| &p.earnings)
        .filter(move |e| e.id == id)
        .flat_map(|e| &e.batches)
        .filter(move |b| b.vault == vault && b.query_id == q)
}

/// Rolling caps: what was signed in the last hour / 24 hours plus this batch.
pub fn check_rolling(
    caps: &CurrencyCaps,
    currency: &str,
    hour: u128,
    day: u128,
    total: u128,
) -> Result<()> {
    let after_hour = hour.saturating_add(total);
    if after_hour > caps.hour {
        return Err(Error::refused(
            Rule::CapHour,
            format!(
                "{currency}: {hour} signed in the last hour + {total} is above the hourly cap {}",
                caps.hour
            ),
        ));
    }
    let after_day = day.saturating_add(total);
    if after_day > caps.day {
        return Err(Error::refused(
            Rule::CapDay,
            format!(
                "{currency}: {day} signed in the last 24h + {total} is above the daily cap {}",
                caps.day
            ),
        ));
    }
    Ok(())
}

/// What each worker of a batch gets in it (raw address, sum of its items), in first-seen order.
pub fn worker_totals(req: &VaultBatchRequest) -> Vec<(String, u128)> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut totals: Vec<(String, u128)> = Vec::new();
    for item in &req.items {
        let w = raw_address(&item.dest);
        match index.get(&w) {
            Some(&i) => totals[i].1 = totals[i].1.saturating_add(item.amount),
            None => {
                index.insert(w.clone(), totals.len());
                totals.push((w, item.amount));
            }
        }
    }
    totals
}

/// Per-worker rolling 24-hour cap: what each worker was signed in the last 24 hours
/// (`signed(worker)`) plus what this batch gives it ([`worker_totals`]).
pub fn check_worker_totals(
    this: &[(String, u128)],
    caps: &CurrencyCaps,
    signed: impl Fn(&str) -> u128,
) -> Result<()> {
    for (worker, amount) in this {
        let before = signed(worker);
        if before.saturating_add(*amount) > caps.worker_day {
            return Err(Error::refused(
                Rule::CapWorkerDay,
                format!(
                    "worker {worker}: {before} in the last 24h + {amount} is above the per-worker daily cap {}",
                    caps.worker_day
                ),
            ));
        }
    }
    Ok(())
}

/// What the escrow's live signed releases (`(seqno, amount)`) may still add to "released":
/// every one whose seqno is not among the releases the ledger already counts
/// (`released_seqnos`: the seqnos of the escrow's posted `ev_release`s; `None`: unknown, so
/// every live release counts). A release the ledger posted is in its `releasable` figure
/// already; counting it again would hold every next release until the last one's
/// valid_until. The ledger reads the seqnos before the funding, so a release posted in
/// between is counted twice (it waits), never not at all.
pub fn pending_releases(live: &[(u32, u128)], released_seqnos: Option<&[u32]>) -> u128 {
    live.iter()
        .filter(|(seqno, _)| released_seqnos.is_none_or(|s| !s.contains(seqno)))
        .fold(0u128, |sum, (_, amount)| sum.saturating_add(*amount))
}

/// Releases: `amount <= releasable - pending` (pending: releases this signer signed for the
/// escrow that are still live and not yet counted by the ledger, [`pending_releases`]).
pub fn check_release(amount: u128, releasable: u128, pending: u128) -> Result<()> {
    let room = releasable.saturating_sub(pending);
    if amount > room {
        return Err(Error::refused(
            Rule::Releasable,
            format!(
                "release of {amount} is above what the project may release: {releasable} releasable in the ledger - {pending} already signed and live = {room}"
            ),
        ));
    }
    Ok(())
}

/// The volume key under which jetton batches' float spend is counted (not a currency code:
/// those are alphanumeric).
pub const FLOAT_KEY: &str = "float:TON";

/// The currency a vault pays in is TON (a TON vault); any other is a jetton vault.
pub fn is_jetton_vault(currency: &str) -> bool {
    currency != "TON"
}

/// `attach` and `forward_ton`: both 0 for a TON vault; for a jetton vault `attach <=
/// max_attach`, `forward_ton <= max_forward_ton` and `forward_ton <= attach`. Returns what the
/// batch can spend from the vault's float (0 for a TON vault).
pub fn check_attach(req: &VaultBatchRequest, currency: &str, float: &FloatLimits) -> Result<u128> {
    if !is_jetton_vault(currency) {
        if req.attach != 0 {
            return Err(Error::refused(
                Rule::BatchAttach,
                format!(
                    "attach {}: a TON vault's batch carries no attach (0)",
                    req.attach
                ),
            ));
        }
        if req.forward_ton != 0 {
            return Err(Error::refused(
                Rule::BatchForwardTon,
                format!(
                    "forward_ton {}: a TON vault's batch forwards nothing (0)",
                    req.forward_ton
                ),
            ));
        }
        return Ok(0);
    }
    if req.attach > float.max_attach {
        return Err(Error::refused(
            Rule::BatchAttach,
            format!(
                "attach {} nanoTON per transfer is above the maximum {}",
                req.attach, float.max_attach
            ),
        ));
    }
    if req.forward_ton > float.max_forward_ton {
        return Err(Error::refused(
            Rule::BatchForwardTon,
            format!(
                "forward_ton {} nanoTON per transfer is above the maximum {}",
                req.forward_ton, float.max_forward_ton
            ),
        ));
    }
    if req.forward_ton > req.attach {
        return Err(Error::refused(
            Rule::BatchForwardTon,
            format!(
                "forward_ton {} is above attach {}: the transfer cannot forward more than it carries",
                req.forward_ton, req.attach
            ),
        ));
    }
    Ok(float.spend(req.items.len(), req.attach))
}

/// The float caps: what jetton batches spent from vault floats in the last hour / 24 hours
/// plus what this batch can spend.
pub fn check_float(float: &FloatLimits, hour: u128, day: u128, spend: u128) -> Result<()> {
    if hour.saturating_add(spend) > float.hour {
        return Err(Error::refused(
            Rule::CapFloatHour,
            format!(
                "jetton batches can spend {hour} nanoTON of vault float in the last hour + {spend} for this batch: above the hourly float cap {}",
                float.hour
            ),
        ));
    }
    if day.saturating_add(spend) > float.day {
        return Err(Error::refused(
            Rule::CapFloatDay,
            format!(
                "jetton batches can spend {day} nanoTON of vault float in the last 24h + {spend} for this batch: above the daily float cap {}",
                float.day
            ),
        ));
    }
    Ok(())
}

/// `close.project_closing`: the ledger says the project is closing, and the escrow is not
/// closed on chain.
pub fn check_close_requested(view: &CloseView, project: u64) -> Result<()> {
    if view.closed_on_chain || view.state == ProjectState::Closed {
        return Err(Error::refused(
            Rule::CloseNotRequested,
            format!("project {project}'s escrow is closed on chain already"),
        ));
    }
    if view.state != ProjectState::Closing {
        return Err(Error::refused(
            Rule::CloseNotRequested,
            format!(
                "project {project} is {}: the ledger has no close request (the client or an admin asks for it first)",
                view.state
            ),
        ));
    }
    Ok(())
}

/// `close.once`: every close of this escrow signed before at another seqno (`earlier`:
/// `(seqno, valid_until)`) must be provably dead: its valid_until plus the finality margin is
/// before chain time as the indexer saw it. Unknown chain time proves nothing. (The same seqno
/// is the journal's: the identical request is replayed, another content refused.)
pub fn check_close_once(
    seqno: u32,
    earlier: &[(u32, u64)],
    chain_time: Option<u32>,
    margin: u32,
) -> Result<()> {
    for (m, valid_until) in earlier {
        if *m == seqno {
            continue;
        }
        let dead = chain_time
            .is_some_and(|t| valid_until.saturating_add(u64::from(margin)) < u64::from(t));
        if !dead {
            return Err(Error::refused(
                Rule::CloseOnce,
                format!(
                    "a close of this escrow was signed for seqno {m} (valid until {valid_until}) and is not provably dead: chain time {} must pass {}",
                    chain_time
                        .map_or_else(|| "(unknown: no indexer)".to_string(), |t| t.to_string()),
                    valid_until.saturating_add(u64::from(margin))
                ),
            ));
        }
    }
    Ok(())
}

/// `close.final_release`: what is approved and unreleased on chain must be covered by
/// releases this signer signed at LOWER seqnos, still live, and not among the releases the
/// ledger already counts (`live`: `(seqno, amount)`). The escrow consumes seqnos in order, so
/// a close at `seqno` lands only after those releases did; a release at a higher seqno would
/// never land after the close. Unknown released seqnos count no signed release.
pub fn check_final_release(seqno: u32, view: &CloseView, live: &[(u32, u128)]) -> Result<()> {
    let covered = match &view.released_seqnos {
        None => 0,
        Some(posted) => live
            .iter()
            .filter(|(s, _)| *s < seqno && !posted.contains(s))
            .fold(0u128, |a, (_, amount)| a.saturating_add(*amount)),
    };
    if view.releasable > covered {
        return Err(Error::refused(
            Rule::CloseFinalRelease,
            format!(
                "{} of approved earnings is not released on chain and releases signed below seqno {seqno} cover {covered}: sign the final release first",
                view.releasable
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{BatchRef, Earning, PayoutItem as PayoutItemView};
    use labelmint_abi::vault::PayoutItem;
    use tycho_types::cell::HashBytes;
    use tycho_types::models::StdAddr;

    fn addr(b: u8) -> StdAddr {
        StdAddr::new(0, HashBytes([b; 32]))
    }

    fn batch(items: &[(u64, u8, u128)]) -> VaultBatchRequest {
        VaultBatchRequest {
            global_id: 2026,
            vault: addr(0xaa),
            query_id: 1,
            created_at: 1000,
            attach: 0,
            forward_ton: 0,
            items: items
                .iter()
                .map(|(id, w, a)| PayoutItem {
                    item_id: *id,
                    bounceable: false,
                    dest: addr(*w),
                    amount: *a,
                })
                .collect(),
        }
    }

    fn caps() -> CurrencyCaps {
        CurrencyCaps {
            batch: 100,
            hour: 150,
            day: 300,
            worker_day: 60,
        }
    }

    fn rule<T: std::fmt::Debug>(r: Result<T>) -> Option<Rule> {
        r.err().and_then(|e| e.rule())
    }

    #[test]
    fn valid_until_table() {
        let cases: &[(u64, u64, u32, Option<Rule>)] = &[
            (1001, 1000, 60, None),
            (1060, 1000, 60, None),
            (1061, 1000, 60, Some(Rule::Ttl)),
            (1000, 1000, 60, Some(Rule::Expired)),
            (10, 1000, 60, Some(Rule::Expired)),
        ];
        for (vu, now, ttl, want) in cases {
            assert_eq!(
                rule(check_valid_until(*vu, *now, *ttl)),
                *want,
                "{vu} {now} {ttl}"
            );
        }
    }

    #[test]
    fn created_at_table() {
        // (created_at, timeout, now, ttl) -> rule
        let cases: &[(u32, u32, u64, u32, Option<Rule>)] = &[
            (1000, 3600, 1000, 3600, None),
            (1001, 3600, 1000, 3600, Some(Rule::Expired)),
            (1000, 3600, 4600, 3600, Some(Rule::Expired)),
            (1000, 7200, 1000, 3600, Some(Rule::Ttl)),
        ];
        for (c, t, now, ttl, want) in cases {
            assert_eq!(
                rule(check_created_at(*c, *t, *now, *ttl)),
                *want,
                "{c} {t} {now}"
            );
        }
        assert_eq!(check_created_at(1000, 3600, 1200, 3600).unwrap(), 4600);
    }

    #[test]
    fn batch_caps_table() {
        let limits = Limits {
            max_batch_items: 2,
            ..Limits::default()
        };
        let c = caps();
        assert_eq!(
            rule(check_batch_caps(
                &batch(&[(1, 1, 50), (2, 2, 50)]),
                &limits,
                &c
            )),
            None
        );
        assert_eq!(
            rule(check_batch_caps(
                &batch(&[(1, 1, 1), (2, 2, 1), (3, 3, 1)]),
                &limits,
                &c
            )),
            Some(Rule::BatchItems)
        );
        assert_eq!(
            rule(check_batch_caps(
                &batch(&[(1, 1, 51), (2, 2, 50)]),
                &limits,
                &c
            )),
            Some(Rule::BatchAmount)
        );
        assert_eq!(rule(caps_of(&limits, "XYZ")), Some(Rule::CapDay));
    }

    fn earning(id: u64, w: u8, a: u128, cur: &str, approved: bool, other: bool) -> Earning {
        Earning {
            id,
            worker: raw_address(&addr(w)),
            amount: a,
            currency: cur.into(),
            approved,
            batches: if other {
                vec![BatchRef {
                    vault: "0:bb".into(),
                    query_id: 9,
                    state: BatchState::Paid,
                    bounce_indexed: false,
                }]
            } else {
                vec![]
            },
        }
    }

    fn item(id: u64, w: u8, a: u128, earnings: Vec<Earning>) -> PayoutItemView {
        PayoutItemView {
            item_id: id,
            vault: raw_address(&addr(0xaa)),
            query_id: 1,
            dest: raw_address(&addr(w)),
            amount: a,
            currency: "TON".into(),
            earnings,
        }
    }

    #[test]
    fn ledger_match_table() {
        // The request pays item 1: 10 to worker 1.
        let req = batch(&[(1, 1, 10)]);
        let two = |a: u128, b: u128| {
            vec![
                earning(7, 1, a, "TON", true, false),
                earning(8, 1, b, "TON", true, false),
            ]
        };
        let mut other_batch = item(1, 1, 10, two(4, 6));
        other_batch.query_id = 2;
        let mut held_elsewhere = other_batch.clone();
        held_elsewhere.earnings[0].batches.push(BatchRef {
            vault: held_elsewhere.vault.clone(),
            query_id: 2,
            state: BatchState::Live,
            bounce_indexed: false,
        });
        let mut other_currency = item(1, 1, 10, two(4, 6));
        other_currency.currency = "USD".into();
        let cases: Vec<(Option<PayoutItemView>, Option<Rule>)> = vec![
            (Some(item(1, 1, 10, two(4, 6))), None),
            (
                Some(item(1, 1, 10, vec![earning(7, 1, 10, "TON", true, false)])),
                None,
            ),
            (None, Some(Rule::ItemNotApproved)),
            (Some(item(1, 1, 10, vec![])), Some(Rule::ItemNotApproved)),
            (
                Some(item(
                    1,
                    1,
                    10,
                    vec![
                        earning(7, 1, 4, "TON", true, false),
                        earning(8, 1, 6, "TON", false, false),
                    ],
                )),
                Some(Rule::ItemNotApproved),
            ),
            (Some(other_batch), Some(Rule::ItemMismatch)),
            (Some(held_elsewhere), Some(Rule::ItemAlreadyBatched)),
            (Some(item(1, 2, 10, two(4, 6))), Some(Rule::ItemMismatch)),
            (Some(item(1, 1, 11, two(5, 6))), Some(Rule::ItemMismatch)),
            (Some(other_currency), Some(Rule::ItemMismatch)),
            // The earnings do not sum to the item, or one goes elsewhere or is in USD.
            (Some(item(1, 1, 10, two(4, 5))), Some(Rule::ItemMismatch)),
            (
                Some(item(
                    1,
                    1,
                    10,
                    vec![
                        earning(7, 1, 4, "TON", true, false),
                        earning(8, 2, 6, "TON", true, false),
                    ],
                )),
                Some(Rule::ItemMismatch),
            ),
            (
                Some(item(
                    1,
                    1,
                    10,
                    vec![
                        earning(7, 1, 4, "TON", true, false),
                        earning(8, 1, 6, "USD", true, false),
                    ],
                )),
                Some(Rule::ItemMismatch),
            ),
            // One earning is in another paid batch.
            (
                Some(item(
                    1,
                    1,
                    10,
                    vec![
                        earning(7, 1, 4, "TON", true, false),
                        earning(8, 1, 6, "TON", true, true),
                    ],
                )),
                Some(Rule::ItemAlreadyBatched),
            ),
        ];
        for (p, want) in cases {
            let map: HashMap<u64, PayoutItemView> = p.clone().map(|p| (1, p)).into_iter().collect();
            assert_eq!(
                rule(check_items_against_ledger(&req, "TON", &map)),
                want,
                "{p:?}"
            );
        }
        // One earning in two items of the request.
        let req = batch(&[(1, 1, 10), (2, 1, 10)]);
        let mut map = HashMap::new();
        map.insert(
            1,
            item(1, 1, 10, vec![earning(7, 1, 10, "TON", true, false)]),
        );
        map.insert(
            2,
            item(2, 1, 10, vec![earning(7, 1, 10, "TON", true, false)]),
        );
        assert_eq!(
            rule(check_items_against_ledger(&req, "TON", &map)),
            Some(Rule::ItemAlreadyBatched)
        );
    }

    #[test]
    fn journal_items_table() {
        // Item 1 holds earnings 7 and 8; earning 8 was signed before in (0:aa, 5).
        let with = |state: Option<BatchState>, indexed: bool| -> HashMap<u64, PayoutItemView> {
            let mut e8 = earning(8, 1, 1, "TON", true, false);
            e8.batches = state
                .map(|state| BatchRef {
                    vault: "0:aa".into(),
                    query_id: 5,
                    state,
                    bounce_indexed: indexed,
                })
                .into_iter()
                .collect();
            let mut m = HashMap::new();
            m.insert(
                1,
                item(1, 1, 2, vec![earning(7, 1, 1, "TON", true, false), e8]),
            );
            m
        };
        let live = vec![(8u64, "0:aa".to_string(), 5u64, 2000u64)];
        let past = vec![(8u64, "0:aa".to_string(), 5u64, 900u64)];
        // (earlier signature, the ledger's state of that attempt, indexed bounce) -> rule
        let cases = [
            (
                &live,
                Some(BatchState::Expired),
                false,
                Some(Rule::ItemAlreadyBatched),
            ),
            (
                &live,
                Some(BatchState::Bounced),
                false,
                Some(Rule::ItemAlreadyBatched),
            ),
            // Executed and back on chain: that signature can never pay again.
            (&live, Some(BatchState::Bounced), true, None),
            // The indexer's word does not help without the ledger's.
            (
                &live,
                Some(BatchState::Paid),
                true,
                Some(Rule::ItemAlreadyBatched),
            ),
            (&past, None, false, Some(Rule::ItemAlreadyBatched)),
            (
                &past,
                Some(BatchState::Live),
                false,
                Some(Rule::ItemAlreadyBatched),
            ),
            (
                &past,
                Some(BatchState::Paid),
                false,
                Some(Rule::ItemAlreadyBatched),
            ),
            (&past, Some(BatchState::Expired), false, None),
            (&past, Some(BatchState::Bounced), false, None),
        ];
        for (earlier, state, indexed, want) in cases {
            assert_eq!(
                rule(check_items_against_journal(
                    earlier,
                    &with(state, indexed),
                    1000
                )),
                want,
                "{state:?} {indexed}"
            );
        }
    }

    #[test]
    fn rolling_and_worker_caps_table() {
        let c = caps();
        assert_eq!(rule(check_rolling(&c, "TON", 100, 100, 50)), None);
        assert_eq!(
            rule(check_rolling(&c, "TON", 101, 101, 50)),
            Some(Rule::CapHour)
        );
        assert_eq!(
            rule(check_rolling(&c, "TON", 0, 251, 50)),
            Some(Rule::CapDay)
        );
        let req = batch(&[(1, 1, 30), (2, 1, 30), (3, 2, 10)]);
        let totals = worker_totals(&req);
        assert_eq!(
            totals,
            vec![(raw_address(&addr(1)), 60), (raw_address(&addr(2)), 10)]
        );
        assert_eq!(rule(check_worker_totals(&totals, &c, |_| 0)), None);
        let one_before = |w: &str| u128::from(w == raw_address(&addr(1)));
        assert_eq!(
            rule(check_worker_totals(&totals, &c, one_before)),
            Some(Rule::CapWorkerDay)
        );
    }

    #[test]
    fn attach_table() {
        let f = FloatLimits {
            max_attach: 100,
            max_forward_ton: 40,
            item_fee: 3,
            batch_fee: 10,
            hour: 1_000,
            day: 2_000,
        };
        let with = |attach: u128, forward_ton: u128| VaultBatchRequest {
            attach,
            forward_ton,
            ..batch(&[(1, 1, 10), (2, 2, 10)])
        };
        // (currency, attach, forward_ton) -> rule
        let cases: &[(&str, u128, u128, Option<Rule>)] = &[
            ("TON", 0, 0, None),
            ("TON", 1, 0, Some(Rule::BatchAttach)),
            ("TON", 0, 1, Some(Rule::BatchForwardTon)),
            ("USD", 100, 40, None),
            ("USD", 0, 0, None),
            ("USD", 101, 0, Some(Rule::BatchAttach)),
            ("USD", 100, 41, Some(Rule::BatchForwardTon)),
            ("USD", 30, 31, Some(Rule::BatchForwardTon)),
        ];
        for (currency, attach, forward, want) in cases {
            assert_eq!(
                rule(check_attach(&with(*attach, *forward), currency, &f)),
                *want,
                "{currency} attach {attach} forward_ton {forward}"
            );
        }
        // What a batch can spend: 2 items x (attach 100 + fee 3) + 10; a TON vault: nothing.
        assert_eq!(check_attach(&with(100, 40), "USD", &f).unwrap(), 216);
        assert_eq!(check_attach(&with(0, 0), "TON", &f).unwrap(), 0);
        assert_eq!(
            f.spend(250, 100),
            250 * 103 + 10,
            "count x (attach + item fee) + batch fee"
        );
    }

    #[test]
    fn float_caps_table() {
        let f = FloatLimits {
            hour: 1_000,
            day: 2_000,
            ..FloatLimits::default()
        };
        let cases: &[(u128, u128, u128, Option<Rule>)] = &[
            (0, 0, 1_000, None),
            (784, 1_500, 216, None),
            (785, 785, 216, Some(Rule::CapFloatHour)),
            (0, 1_785, 216, Some(Rule::CapFloatDay)),
            (0, 0, 1_001, Some(Rule::CapFloatHour)),
        ];
        for (hour, day, spend, want) in cases {
            assert_eq!(
                rule(check_float(&f, *hour, *day, *spend)),
                *want,
                "{hour} {day} {spend}"
            );
        }
    }

    fn view(state: ProjectState, releasable: u128, posted: Option<Vec<u32>>) -> CloseView {
        CloseView {
            state,
            releasable,
            released_seqnos: posted,
            chain_time: Some(1_000),
            closed_on_chain: false,
        }
    }

    #[test]
    fn close_requested_table() {
        let on_chain = CloseView {
            closed_on_chain: true,
            ..view(ProjectState::Closing, 0, Some(vec![]))
        };
        let cases = [
            (view(ProjectState::Closing, 0, Some(vec![])), None),
            (
                view(ProjectState::Active, 0, Some(vec![])),
                Some(Rule::CloseNotRequested),
            ),
            (
                view(ProjectState::Closed, 0, Some(vec![])),
                Some(Rule::CloseNotRequested),
            ),
            (on_chain, Some(Rule::CloseNotRequested)),
        ];
        for (v, want) in cases {
            assert_eq!(rule(check_close_requested(&v, 7)), want, "{v:?}");
        }
    }

    #[test]
    fn pending_releases_table() {
        let live = [(3u32, 10u128), (4, 20), (5, 40)];
        // (released seqnos, pending)
        let cases: [(Option<&[u32]>, u128); 5] = [
            (None, 70),
            (Some(&[]), 70),
            (Some(&[3]), 60),
            (Some(&[1, 2, 3, 4]), 40),
            (Some(&[3, 4, 5]), 0),
        ];
        for (released, want) in cases {
            assert_eq!(pending_releases(&live, released), want, "{released:?}");
        }
        assert_eq!(pending_releases(&[(1, u128::MAX), (2, 1)], None), u128::MAX);
    }

    #[test]
    fn close_once_table() {
        // (seqno, earlier closes (seqno, valid_until), chain time) -> rule; margin 10 s
        type Case<'a> = (u32, &'a [(u32, u64)], Option<u32>, Option<Rule>);
        let cases: &[Case] = &[
            (5, &[], Some(1_000), None),
            // The same seqno is the journal's business (replay or journal.conflict).
            (5, &[(5, 2_000)], Some(1_000), None),
            // Another seqno, live: refused.
            (6, &[(5, 2_000)], Some(1_000), Some(Rule::CloseOnce)),
            (4, &[(5, 2_000)], Some(1_000), Some(Rule::CloseOnce)),
            // Expired, but not by the finality margin in chain time: refused.
            (6, &[(5, 995)], Some(1_000), Some(Rule::CloseOnce)),
            (6, &[(5, 990)], Some(1_000), Some(Rule::CloseOnce)),
            // Dead in chain time: allowed.
            (6, &[(5, 989)], Some(1_000), None),
            // Without chain time nothing is proven dead.
            (6, &[(5, 1)], None, Some(Rule::CloseOnce)),
            // One dead, one live.
            (
                7,
                &[(5, 100), (6, 2_000)],
                Some(1_000),
                Some(Rule::CloseOnce),
            ),
        ];
        for (seqno, earlier, chain, want) in cases {
            assert_eq!(
                rule(check_close_once(*seqno, earlier, *chain, 10)),
                *want,
                "{seqno} {earlier:?} {chain:?}"
            );
        }
    }

    #[test]
    fn final_release_table() {
        let closing = |releasable, posted| view(ProjectState::Closing, releasable, posted);
        // (close seqno, view, live signed releases (seqno, amount)) -> rule
        type Case = (u32, CloseView, Vec<(u32, u128)>, Option<Rule>);
        let cases: Vec<Case> = vec![
            // Everything released and indexed.
            (9, closing(0, Some(vec![3])), vec![], None),
            // Unreleased, nothing signed.
            (
                9,
                closing(100, Some(vec![])),
                vec![],
                Some(Rule::CloseFinalRelease),
            ),
            // Covered by a live release at a lower seqno.
            (9, closing(100, Some(vec![])), vec![(8, 100)], None),
            (9, closing(100, Some(vec![])), vec![(4, 60), (8, 40)], None),
            (
                9,
                closing(100, Some(vec![])),
                vec![(8, 99)],
                Some(Rule::CloseFinalRelease),
            ),
            // A release at a higher seqno never lands after the close.
            (
                9,
                closing(100, Some(vec![])),
                vec![(10, 100)],
                Some(Rule::CloseFinalRelease),
            ),
            // A release the ledger already counts in "released" does not cover twice.
            (
                9,
                closing(100, Some(vec![8])),
                vec![(8, 100)],
                Some(Rule::CloseFinalRelease),
            ),
            (
                9,
                closing(100, Some(vec![7])),
                vec![(7, 50), (8, 100)],
                None,
            ),
            // Unknown released seqnos: no signed release counts.
            (
                9,
                closing(100, None),
                vec![(8, 100)],
                Some(Rule::CloseFinalRelease),
            ),
            (9, closing(0, None), vec![], None),
        ];
        for (seqno, v, live, want) in cases {
            assert_eq!(
                rule(check_final_release(seqno, &v, &live)),
                want,
                "{seqno} {v:?} {live:?}"
            );
        }
    }

    #[test]
    fn release_table() {
        assert_eq!(rule(check_release(10, 10, 0)), None);
        assert_eq!(rule(check_release(10, 15, 6)), Some(Rule::Releasable));
        assert_eq!(rule(check_release(1, 5, 9)), Some(Rule::Releasable));
    }
}
