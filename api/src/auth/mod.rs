//! Who is calling, and what they may see.
//!
//! ```text
//! Authorization: Bearer lmk_<key_id>_<secret>   API key   -> api_keys (index on key_id,
//!                                                             constant-time hash compare)
//! Authorization: Bearer lms_<secret>             session   -> api_sessions (by hash, expiry)
//!                 |
//!                 v
//!            [`Caller`] = [`Principal`]  --(each handler)-->  full read | scoped to one wallet
//! ```
//!
//! | principal | sees |
//! | --- | --- |
//! | `read` key | every read route |
//! | `admin` key | every read route and `/v1/admin/api-keys` |
//! | `client` key for wallet W, or a session of W | the projects whose client is W (and their events, and the batches and items paying them); the earnings and payouts whose payout address is W; the indexer status |
//!
//! A handler that takes no [`Caller`] is public: `/health`, `/ready`, `/metrics`,
//! `/openapi.json`, `/docs` and `/v1/auth/*` (the login itself). Everything else takes one, so
//! an anonymous request is a 401 before any parameter is read.

pub mod cache;
pub mod keys;
pub mod secret;
pub mod sessions;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sqlx::PgPool;

use crate::auth::keys::Scope;
use crate::auth::secret::Bearer;
use crate::problem::ApiError;
use crate::server::AppState;
use crate::tonproof::chain::KeyReader;

/// The ton_proof rules (domains, windows) and session lifetime.
#[derive(Debug, Clone)]
pub struct ProofConfig {
    /// The domains a proof may name (the dApp's host, as the wallet reports it: `app.example.com`).
    pub domains: Vec<String>,
    /// How long an issued payload may be used.
    pub payload_ttl: Duration,
    /// How old a proof's timestamp may be.
    pub max_age: Duration,
    /// How far in the future a proof's timestamp may be (clock skew).
    pub max_skew: Duration,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// The network's global id (`-239`, `-3`, `2026` for the devnet): a proof naming another
    /// `network` is refused.
    pub global_id: i32,
}

impl ProofConfig {
    /// Defaults: payloads and proofs 15 min, skew 60 s, sessions 24 h, for `domains`.
    pub fn new(domains: Vec<String>, global_id: i32) -> ProofConfig {
        ProofConfig {
            domains,
            payload_ttl: Duration::from_secs(15 * 60),
            max_age: Duration::from_secs(15 * 60),
            max_skew: Duration::from_secs(60),
            session_ttl: Duration::from_secs(24 * 3600),
            global_id,
        }
    }
}

/// What the auth side of a request needs.
#[derive(Debug)]
pub struct AuthState {
    /// The auth pool (runs as `labelmint_api_auth`: the auth tables only).
    pub pool: PgPool,
    /// The ton_proof rules.
    pub proof: ProofConfig,
    /// `get_public_key` of deployed wallets (`None`: no liteserver configured; a proof then
    /// needs its StateInit).
    pub keys: Option<KeyReader>,
    /// Credentials verified in the last few seconds.
    pub cache: cache::CredentialCache,
}

/// A caller who proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An integrator's API key.
    Key {
        /// Its id.
        key_id: String,
        /// Its scope.
        scope: Scope,
        /// A client key's wallet (raw).
        client: Option<String>,
    },
    /// A wallet's ton_proof session.
    Session {
        /// The wallet (raw).
        address: String,
    },
}

impl Principal {
    /// `None`: sees everything a read route shows; `Some(W)`: only what belongs to wallet W.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Principal::Key {
                scope: Scope::Read | Scope::Admin,
                ..
            } => None,
            Principal::Key { client, .. } => Some(client.as_deref().unwrap_or("")),
            Principal::Session { address } => Some(address),
        }
    }

    /// Who the caller is for per-caller caps: an API key by its id, a wallet by its address
    /// (all its sessions together).
    pub fn caller_id(&self) -> String {
        match self {
            Principal::Key { key_id, .. } => format!("key:{key_id}"),
            Principal::Session { address } => format!("wallet:{address}"),
        }
    }

    /// Refuses (403) a caller scoped to one wallet: routes that show everyone's data.
    pub fn require_full_read(&self, what: &str) -> Result<(), ApiError> {
        match self.owner() {
            None => Ok(()),
            Some(_) => Err(ApiError::InsufficientScope(format!(
                "{what} needs a read or admin API key"
            ))),
        }
    }

    /// Refuses (403) anything but an admin key.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Principal::Key {
                scope: Scope::Admin,
                ..
            } => Ok(()),
            _ => Err(ApiError::InsufficientScope(
                "API key management needs an admin API key".into(),
            )),
        }
    }

    /// Refuses (403 `not-owner`) a scoped caller when `owner` is not theirs.
    pub fn require_owner(&self, resource: &'static str, owner: &str) -> Result<(), ApiError> {
        match self.owner() {
            Some(me) if me != owner => Err(ApiError::NotOwner { resource }),
            _ => Ok(()),
        }
    }
}

/// The authenticated caller (an extractor: rejects with 401 problems).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

/// The bearer text of a request, if any (`Err`: an Authorization header that is not Bearer).
fn bearer_text(headers: &header::HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ApiError::InvalidCredentials)?;
    let (scheme, rest) = v.split_once(' ').ok_or(ApiError::InvalidCredentials)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidCredentials);
    }
    Ok(Some(rest.trim()))
}

/// The hash of the session token a request carries (logout), if it carries one.
pub fn session_hash(parts: &Parts) -> Result<[u8; 32], ApiError> {
    match bearer_text(&parts.headers)?.map(secret::parse_bearer) {
        Some(Some(Bearer::Session { sha256 })) => Ok(sha256),
        Some(_) => Err(ApiError::InvalidCredentials),
        None => Err(ApiError::AuthenticationRequired),
    }
}

/// What the request's `Authorization` header proved, worked out once per request (by the
/// rate limiter's middleware, [`crate::ratelimit::enforce`]) and kept in its extensions for
/// [`Caller`].
#[derive(Debug, Clone)]
pub enum AuthOutcome {
    /// No `Authorization` header.
    Missing,
    /// A live key or session.
    Verified(Principal),
    /// Malformed, unknown, rotated, revoked or expired.
    Invalid,
    /// The auth database did not answer (503).
    Unavailable,
    /// The lookup failed otherwise (500; logged).
    Failed,
}

/// Verifies the request's credential: the cache first, then the key or session tables.
pub async fn authenticate(headers: &header::HeaderMap, st: &AppState) -> AuthOutcome {
    match verify(headers, st).await {
        Ok(Some(who)) => AuthOutcome::Verified(who),
        Ok(None) => AuthOutcome::Missing,
        Err(ApiError::DatabaseUnavailable(e)) => {
            tracing::warn!(cause = %e, "credential lookup: database unavailable");
            AuthOutcome::Unavailable
        }
        Err(ApiError::Internal(e)) => {
            tracing::error!(cause = %e, "credential lookup failed");
            AuthOutcome::Failed
        }
        Err(_) => AuthOutcome::Invalid,
    }
}

async fn verify(headers: &header::HeaderMap, st: &AppState) -> Result<Option<Principal>, ApiError> {
    let Some(text) = bearer_text(headers)? else {
        return Ok(None);
    };
    let pool = &st.auth.pool;
    let cache = &st.auth.cache;
    match secret::parse_bearer(text).ok_or(ApiError::InvalidCredentials)? {
        Bearer::Key { key_id, sha256 } => {
            let ck = cache::CacheKey::Key(key_id.clone(), sha256);
            if let Some(who) = cache.get(&ck) {
                return Ok(Some(who));
            }
            let key = keys::lookup(pool, &key_id, &sha256)
                .await?
                .ok_or(ApiError::InvalidCredentials)?;
            tracing::debug!(key_id = %key.key_id, scope = key.scope.as_str(), "api key");
            let who = Principal::Key {
                key_id: key.key_id,
                scope: key.scope,
                client: key.client,
            };
            cache.put(ck, who.clone(), None);
            Ok(Some(who))
        }
        Bearer::Session { sha256 } => {
            let ck = cache::CacheKey::Session(sha256);
            if let Some(who) = cache.get(&ck) {
                return Ok(Some(who));
            }
            let (address, ms_left) = sessions::lookup(pool, &sha256)
                .await?
                .ok_or(ApiError::InvalidCredentials)?;
            tracing::debug!(%address, "session");
            let who = Principal::Session { address };
            let left = Duration::from_millis(u64::try_from(ms_left).unwrap_or(0));
            cache.put(ck, who.clone(), Some(std::time::Instant::now() + left));
            Ok(Some(who))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        let outcome = match parts.extensions.get::<AuthOutcome>() {
            Some(o) => o.clone(),
            // Served without the middleware (a router a test builds by hand): verify here.
            None => authenticate(&parts.headers, st).await,
        };
        match outcome {
            AuthOutcome::Verified(who) => Ok(Caller(who)),
            AuthOutcome::Missing => Err(ApiError::AuthenticationRequired),
            AuthOutcome::Invalid => Err(ApiError::InvalidCredentials),
            AuthOutcome::Unavailable => {
                Err(ApiError::DatabaseUnavailable(sqlx::Error::PoolTimedOut))
            }
            AuthOutcome::Failed => Err(ApiError::Internal(
                "the credential could not be checked (logged above)".into(),
            )),
        }
    }
}

/// Shared auth state.
pub type SharedAuth = Arc<AuthState>;
