//! `/v1/admin/api-keys`: create, list, rotate and revoke integrators' API keys (admin key
//! only). A created or rotated key's text is in that one answer and nowhere else (not in the
//! database, not in the logs).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::auth::keys::{self, Issued, KeyError, KeyInfo, Scope};
use crate::extract::{J, Seg};
use crate::problem::{ApiError, Problem};
use crate::server::AppState;
use crate::wire::parse_address;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(revoke_key))
        .routes(routes!(rotate_key))
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::NotFound { key_id } => {
                ApiError::KeyNotFound(format!("no live API key {key_id}"))
            }
            KeyError::Invalid(reason) => ApiError::param("body", reason),
            KeyError::Database(e) => e.into(),
        }
    }
}

/// A new key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// `read`, `client` or `admin`.
    pub scope: String,
    /// What it is for (1 to 200 characters).
    pub label: String,
    /// A `client` key's wallet (raw or user-friendly); refused for other scopes.
    #[serde(default)]
    pub client: Option<String>,
}

/// A key just made or rotated, with its secret: shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedKey {
    /// `lmk_<key_id>_<secret>`: send as `Authorization: Bearer <key>`. Not stored: keep it.
    pub key: String,
    /// The key's description.
    #[serde(flatten)]
    pub info: KeyInfo,
}

fn issued(i: Issued) -> IssuedKey {
    IssuedKey {
        key: i.key.expose().to_owned(),
        info: i.info,
    }
}

fn key_id(s: &str) -> Result<&str, ApiError> {
    if s.len() == 16
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        Ok(s)
    } else {
        Err(ApiError::param("key_id", "16 lowercase hex digits"))
    }
}

/// Makes an API key.
#[utoipa::path(post, path = "/v1/admin/api-keys", tag = "admin", request_body = NewKey,
    security(("bearer" = [])),
    responses(
        (status = 201, body = IssuedKey),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_key(
    State(st): State<AppState>,
    Caller(who): Caller,
    J(body): J<NewKey>,
) -> Result<(StatusCode, Json<IssuedKey>), ApiError> {
    who.require_admin()?;
    let scope = Scope::parse(&body.scope)
        .ok_or_else(|| ApiError::param("scope", "one of read, client, admin"))?;
    let client = body
        .client
        .as_deref()
        .map(|c| parse_address("client", c))
        .transpose()?;
    let i = keys::create(&st.auth.pool, scope, client.as_deref(), &body.label).await?;
    tracing::info!(key_id = %i.info.key_id, scope = scope.as_str(), "API key created");
    Ok((StatusCode::CREATED, Json(issued(i))))
}

/// Every API key (never a secret), newest first.
#[utoipa::path(get, path = "/v1/admin/api-keys", tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<KeyInfo>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_keys(
    State(st): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    who.require_admin()?;
    Ok(Json(keys::list(&st.auth.pool).await?))
}

/// A new secret for a key: the old text stops working at once.
#[utoipa::path(post, path = "/v1/admin/api-keys/{key_id}/rotate", tag = "admin",
    params(("key_id" = String, Path, description = "16 hex digits")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = IssuedKey),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_key(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<IssuedKey>, ApiError> {
    who.require_admin()?;
    let i = keys::rotate(&st.auth.pool, key_id(&id)?).await?;
    st.auth.cache.forget_key(&i.info.key_id);
    tracing::info!(key_id = %i.info.key_id, "API key rotated");
    Ok(Json(issued(i)))
}

/// Revokes a key (it stops working at once).
#[utoipa::path(delete, path = "/v1/admin/api-keys/{key_id}", tag = "admin",
    params(("key_id" = String, Path, description = "16 hex digits")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = KeyInfo),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn revoke_key(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<KeyInfo>, ApiError> {
    who.require_admin()?;
    let info = keys::revoke(&st.auth.pool, key_id(&id)?).await?;
    st.auth.cache.forget_key(&info.key_id);
    tracing::info!(key_id = %info.key_id, "API key revoked");
    Ok(Json(info))
}
