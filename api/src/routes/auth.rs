//! `/v1/auth/ton-proof/payload`, `/v1/auth/ton-proof` (TonConnect wallet login) and
//! `/v1/auth/session` (logout).
//!
//! The checks run cheapest first, and the payload is consumed last, atomically, only for a
//! proof whose signature verified (so nobody can burn someone else's payload with a bad
//! proof, and of two racing logins with one payload exactly one wins): body -> address and
//! workchain -> network -> domain -> timestamp window -> payload issued, unexpired, unused ->
//! public key (StateInit: hash = address, known wallet code; or get_public_key) -> key sent
//! beside it -> signature -> consume payload -> session. Nothing here logs the signature, the
//! payload or the token.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::sessions::{self, PayloadState};
use crate::extract::J;
use crate::problem::{ApiError, Problem};
use crate::server::AppState;
use crate::tonproof::chain::KeyAnswer;
use crate::tonproof::{self, ProofFault, wallets};
use crate::wire::Address;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(issue_payload))
        .routes(routes!(check_proof))
        .routes(routes!(logout))
}

/// A payload to put in TonConnect's `tonProof` connect item.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayloadView {
    /// 64 hex digits; single use.
    pub payload: String,
    /// When it stops being accepted (RFC 3339).
    pub expires_at: String,
}

/// Issues a single-use ton_proof payload (TTL: `--ton-proof-payload-ttl`, 15 min by default).
#[utoipa::path(post, path = "/v1/auth/ton-proof/payload", tag = "auth",
    responses((status = 200, body = PayloadView)))]
async fn issue_payload(State(st): State<AppState>) -> Result<Json<PayloadView>, ApiError> {
    let (payload, expires_at) =
        sessions::issue_payload(&st.auth.pool, st.auth.proof.payload_ttl).await?;
    Ok(Json(PayloadView {
        payload,
        expires_at,
    }))
}

/// The proof's domain.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofDomain {
    /// Byte length of `value`.
    #[serde(rename = "lengthBytes")]
    pub length_bytes: u32,
    /// The dApp's domain as the wallet saw it.
    pub value: String,
}

/// A number or a decimal string (TonConnect's SDK sends a number, its spec a string).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Timestamp {
    /// Unix seconds.
    Number(u64),
    /// Unix seconds, as text.
    Text(String),
}

/// TonConnect's `TonProofItemReplySuccess.proof`, plus the wallet's StateInit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBody {
    /// Unix seconds of the signing.
    pub timestamp: Timestamp,
    /// The domain.
    pub domain: ProofDomain,
    /// base64 ed25519 signature (64 bytes).
    pub signature: String,
    /// The payload this API issued.
    pub payload: String,
    /// base64 BOC of the wallet's StateInit (`account.walletStateInit`); optional for a
    /// deployed wallet (its key is then read with `get_public_key`).
    #[serde(default)]
    pub state_init: Option<String>,
}

/// What the dApp sends after TonConnect's connect: `account` fields and the proof.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofRequest {
    /// The wallet (`account.address`, raw `0:<hex>`; user-friendly accepted).
    pub address: String,
    /// `account.chain` (`-239`, `-3`); when present it must be this API's network.
    #[serde(default)]
    pub network: Option<String>,
    /// `account.publicKey` (hex); when present it must be the wallet's key.
    #[serde(default)]
    pub public_key: Option<String>,
    /// The proof.
    pub proof: ProofBody,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    /// `lms_...`: send as `Authorization: Bearer <token>`. Shown once.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The wallet.
    pub address: Address,
    /// `v3r2`, `v4r2`, `v5r1` (from the StateInit) or `deployed` (key by get_public_key).
    pub wallet: String,
    /// The wallet is the client of at least one project (it sees those projects).
    pub client: bool,
    /// The wallet is the payout address of at least one earning (it sees those earnings and
    /// their payouts).
    pub worker: bool,
}

fn refuse(fault: ProofFault, detail: impl Into<String>) -> ApiError {
    ApiError::TonProof {
        fault,
        detail: detail.into(),
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn payload_refusal(state: PayloadState) -> Result<(), ApiError> {
    match state {
        PayloadState::Fresh => Ok(()),
        PayloadState::Unknown => Err(refuse(
            ProofFault::PayloadUnknown,
            "this payload was not issued here; ask POST /v1/auth/ton-proof/payload",
        )),
        PayloadState::Expired => Err(refuse(
            ProofFault::PayloadExpired,
            "this payload expired; ask for a new one",
        )),
        PayloadState::Used => Err(refuse(
            ProofFault::PayloadReused,
            "this payload was already used; ask for a new one",
        )),
    }
}

/// Verifies a TonConnect ton_proof and opens a session for the wallet.
#[utoipa::path(post, path = "/v1/auth/ton-proof", tag = "auth", request_body = ProofRequest,
    responses(
        (status = 200, body = SessionView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "refused: `type` says which check (ton-proof-domain, ton-proof-expired, ton-proof-future, ton-proof-payload-unknown, ton-proof-payload-expired, ton-proof-payload-reused, ton-proof-signature, ton-proof-state-init-mismatch, ton-proof-unknown-wallet, ton-proof-workchain, ton-proof-network, ton-proof-public-key-mismatch, ton-proof-not-deployed)", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn check_proof(
    State(st): State<AppState>,
    J(req): J<ProofRequest>,
) -> Result<Json<SessionView>, ApiError> {
    let cfg = &st.auth.proof;
    let addr = labelmint_abi::address::parse_any(&req.address)
        .map_err(|e| ApiError::param("address", e.to_string()))?;
    let workchain = i32::from(addr.workchain);
    let hash: [u8; 32] = addr.address.0;
    if workchain != 0 {
        return Err(refuse(
            ProofFault::Workchain,
            format!("workchain {workchain}: only basechain (0) wallets log in"),
        ));
    }
    if let Some(net) = &req.network
        && net.trim() != cfg.global_id.to_string()
    {
        return Err(refuse(
            ProofFault::Network,
            format!("this API serves network {}", cfg.global_id),
        ));
    }
    let p = &req.proof;
    let domain = &p.domain.value;
    if domain.is_empty() || domain.len() > 253 {
        return Err(ApiError::param("proof.domain.value", "1 to 253 bytes"));
    }
    if usize::try_from(p.domain.length_bytes).ok() != Some(domain.len()) {
        return Err(ApiError::param(
            "proof.domain.lengthBytes",
            "is not the byte length of proof.domain.value",
        ));
    }
    if !cfg.domains.iter().any(|d| d == domain) {
        return Err(refuse(
            ProofFault::Domain,
            format!(
                "domain {:?} is not one this API serves",
                domain.chars().take(64).collect::<String>()
            ),
        ));
    }
    let ts = match &p.timestamp {
        Timestamp::Number(n) => *n,
        Timestamp::Text(s) => s.trim().parse::<u64>().map_err(|_| {
            ApiError::param("proof.timestamp", "not unix seconds (a number or its text)")
        })?,
    };
    let now = now_unix();
    if ts > now.saturating_add(cfg.max_skew.as_secs()) {
        return Err(refuse(
            ProofFault::TimestampFuture,
            format!("timestamp {ts} is ahead of this server's clock ({now})"),
        ));
    }
    if now.saturating_sub(ts) > cfg.max_age.as_secs() {
        return Err(refuse(
            ProofFault::TimestampExpired,
            format!(
                "the proof was signed {} s ago; at most {} s are accepted",
                now.saturating_sub(ts),
                cfg.max_age.as_secs()
            ),
        ));
    }
    let payload = p.payload.as_str();
    let well_formed = payload.len() == 64
        && payload
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if !well_formed {
        return Err(refuse(
            ProofFault::PayloadUnknown,
            "this payload was not issued here (64 lowercase hex digits expected)",
        ));
    }
    payload_refusal(sessions::peek_payload(&st.auth.pool, payload).await?)?;

    let (wallet, key) = match &p.state_init {
        Some(b64) => {
            let boc = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(b64.trim()))
                .map_err(|_| ApiError::param("proof.state_init", "not base64"))?;
            let (kind, key) = wallets::key_from_state_init(&boc, &hash)
                .map_err(|(fault, detail)| refuse(fault, detail))?;
            (kind.name(), key)
        }
        None => {
            let reader = st.auth.keys.as_ref().ok_or_else(|| {
                refuse(
                    ProofFault::NotDeployed,
                    "send the wallet's StateInit (proof.state_init): this API has no liteserver to ask the wallet's key",
                )
            })?;
            match reader.public_key(workchain, hash).await {
                KeyAnswer::Key(k) => ("deployed", k),
                KeyAnswer::NoKey(why) => {
                    return Err(refuse(
                        ProofFault::NotDeployed,
                        format!(
                            "no StateInit was sent and the wallet did not answer get_public_key ({why})"
                        ),
                    ));
                }
                KeyAnswer::Unavailable(why) => return Err(ApiError::LiteserverUnavailable(why)),
            }
        }
    };
    if let Some(pk) = &req.public_key
        && !pk.trim().eq_ignore_ascii_case(&hex::encode(key))
    {
        return Err(refuse(
            ProofFault::PublicKeyMismatch,
            "public_key is not the wallet's key",
        ));
    }
    let signature = base64::engine::general_purpose::STANDARD
        .decode(p.signature.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(p.signature.trim()))
        .map_err(|_| ApiError::param("proof.signature", "not base64"))?;
    let message = tonproof::message(workchain, &hash, domain, ts, payload);
    if !tonproof::signature_ok(&key, &message, &signature) {
        return Err(refuse(
            ProofFault::Signature,
            "the signature is not the wallet key's over this proof",
        ));
    }
    payload_refusal(sessions::consume_payload(&st.auth.pool, payload).await?)?;

    let raw = labelmint_abi::address::raw(&addr);
    let (token, expires_at) =
        sessions::create(&st.auth.pool, &raw, wallet, cfg.session_ttl).await?;
    let (client, worker): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM ledger_projects WHERE client = $1), \
                EXISTS (SELECT 1 FROM ledger_earnings WHERE payout_address = $1)",
    )
    .bind(&raw)
    .fetch_one(&st.pool)
    .await?;
    tracing::info!(address = %raw, wallet, "ton_proof session opened");
    Ok(Json(SessionView {
        token: token.expose().to_owned(),
        token_type: "Bearer".into(),
        expires_at,
        address: Address::wallet(&raw, st.testnet),
        wallet: wallet.to_owned(),
        client,
        worker,
    }))
}

/// Ends the session whose token is the bearer (logout).
#[utoipa::path(delete, path = "/v1/auth/session", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "ended"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn logout(State(st): State<AppState>, parts: Parts) -> Result<StatusCode, ApiError> {
    let hash = crate::auth::session_hash(&parts)?;
    st.auth.cache.forget_session(&hash);
    if sessions::revoke(&st.auth.pool, &hash).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::InvalidCredentials)
    }
}
