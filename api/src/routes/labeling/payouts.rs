//! A worker's balance, withdrawal requests and automatic payout threshold.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use labelmint_ledger::CurrencyCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Principal};
use crate::extract::{J, Seg};
use crate::problem::{ApiError, Problem};
use crate::routes::labeling::service;
use crate::server::AppState;
use crate::wire::parse_address;

/// One currency's balance. Amounts: base units of `currency` (decimal strings).
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceView {
    /// The currency.
    pub currency: String,
    /// Decimals of its base unit.
    pub decimals: u8,
    /// Approved, not yet in a payout batch: the balance.
    pub approved: String,
    /// In a payout batch on its way.
    pub in_flight: String,
    /// The smallest payout of this currency ("0": none).
    pub minimum_payout: String,
    /// The worker's automatic threshold, if set.
    pub threshold: Option<String>,
    /// An open withdrawal request, if any (paid in the next settlement).
    pub requested: Option<String>,
}

/// A worker's balances.
#[derive(Debug, Serialize, ToSchema)]
pub struct Balances {
    /// The worker's wallet (raw).
    pub worker: String,
    /// One per currency.
    pub balances: Vec<BalanceView>,
}

/// The worker's balance per currency: approved, not yet paid.
#[utoipa::path(get, path = "/v1/workers/{address}/balance", tag = "workers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "the worker's wallet, raw or user-friendly")),
    responses(
        (status = 200, body = Balances),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn balance(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
) -> Result<Json<Balances>, ApiError> {
    let l = service(&st)?;
    let raw = parse_address("address", &addr)?;
    who.require_owner("worker", &raw)?;
    let balances = l.balances(&raw).await?;
    Ok(Json(Balances {
        worker: raw,
        balances: balances
            .into_iter()
            .map(|b| BalanceView {
                currency: b.currency,
                decimals: b.decimals,
                approved: b.approved.to_string(),
                in_flight: b.in_flight.to_string(),
                minimum_payout: b.minimum_payout.to_string(),
                threshold: b.threshold.map(|t| t.to_string()),
                requested: b.requested.map(|t| t.to_string()),
            })
            .collect(),
    }))
}

fn own_wallet(who: &Principal, raw: &str) -> Result<(), ApiError> {
    match who {
        Principal::Session { address } if address == raw => Ok(()),
        Principal::Session { .. } => Err(ApiError::NotOwner { resource: "worker" }),
        Principal::Key { .. } => who.require_admin().map_err(|_| {
            ApiError::InsufficientScope("a worker's own wallet session (or an admin key)".into())
        }),
    }
}

/// Which currency to withdraw.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    /// The currency code (`TON`, `USD`).
    #[schema(example = "TON")]
    pub currency: String,
}

/// A withdrawal request.
#[derive(Debug, Serialize, ToSchema)]
pub struct WithdrawalView {
    /// The currency.
    pub currency: String,
    /// The amount requested: the whole approved balance (base units).
    pub amount: String,
    /// What happens next.
    pub detail: String,
}

/// Requests the payout of the worker's approved balance in a currency at the next settlement
/// (refused below the currency's minimum payout). Asking again while one is open answers it.
#[utoipa::path(post, path = "/v1/workers/{address}/withdrawals", tag = "workers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "the worker's wallet, raw or user-friendly")),
    request_body = WithdrawalBody,
    responses(
        (status = 202, body = WithdrawalView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "withdrawal-refused", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn withdraw(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
    J(body): J<WithdrawalBody>,
) -> Result<(StatusCode, Json<WithdrawalView>), ApiError> {
    let l = service(&st)?;
    let raw = parse_address("address", &addr)?;
    own_wallet(&who, &raw)?;
    let currency = CurrencyCode::new(&body.currency)
        .map_err(|e| ApiError::param("currency", e.to_string()))?;
    let amount = l.request_withdrawal(&raw, &currency).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(WithdrawalView {
            currency: currency.to_string(),
            amount: amount.to_string(),
            detail: "paid in the next settlement".into(),
        }),
    ))
}

/// An automatic payout threshold.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdBody {
    /// The currency code.
    pub currency: String,
    /// Base units (decimal string); null clears it.
    pub threshold: Option<String>,
}

/// Sets (or clears) the worker's automatic payout threshold: at or above it, every settlement
/// pays the balance. Not below the currency's minimum payout.
#[utoipa::path(post, path = "/v1/workers/{address}/payout-threshold", tag = "workers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "the worker's wallet, raw or user-friendly")),
    request_body = ThresholdBody,
    responses(
        (status = 204, description = "set"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "withdrawal-refused: below the minimum payout", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn threshold(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(addr): Seg,
    J(body): J<ThresholdBody>,
) -> Result<StatusCode, ApiError> {
    let l = service(&st)?;
    let raw = parse_address("address", &addr)?;
    own_wallet(&who, &raw)?;
    let currency = CurrencyCode::new(&body.currency)
        .map_err(|e| ApiError::param("currency", e.to_string()))?;
    let t = body
        .threshold
        .map(|t| {
            t.parse::<u128>()
                .map_err(|_| ApiError::param("threshold", "a decimal string of base units"))
        })
        .transpose()?;
    l.set_threshold(&raw, &currency, t).await?;
    Ok(StatusCode::NO_CONTENT)
}
