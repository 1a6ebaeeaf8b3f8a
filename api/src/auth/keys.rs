//! API keys in Postgres (`api_keys`): create, list, rotate, revoke, and the lookup a request
//! makes. Used by the admin routes and by `labelmint api-key` (the CLI), on a pool with write
//! rights on `api_keys` (the server's auth pool, or the operator's own login).

use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;

use crate::auth::secret::{self, Secret};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every read route, nothing else.
    Read,
    /// The reads of one client wallet: its projects (and their events and batches).
    Client,
    /// Every read route, and the key routes (`/v1/admin/api-keys`).
    Admin,
}

impl Scope {
    /// Its name in the table and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Client => "client",
            Scope::Admin => "admin",
        }
    }

    /// From its name.
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "client" => Some(Scope::Client),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// No key has this id (or it is revoked, for a rotation).
    #[error("no live API key {key_id}")]
    NotFound {
        /// The id asked for.
        key_id: String,
    },
    /// The request is malformed (a client key without a client, a bad label).
    #[error("{0}")]
    Invalid(String),
    /// Postgres failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// A key as listed (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct KeyInfo {
    /// The public id (the part after `lmk_`).
    pub key_id: String,
    /// `read`, `client` or `admin`.
    pub scope: String,
    /// A `client` key's wallet (raw form).
    pub client: Option<String>,
    /// What it is for.
    pub label: String,
    /// RFC 3339.
    pub created_at: String,
    /// The last rotation, RFC 3339.
    pub rotated_at: Option<String>,
    /// When it was revoked, RFC 3339 (it no longer works).
    pub revoked_at: Option<String>,
}

/// A key just made or rotated: the secret is in here and nowhere else, once.
#[derive(Debug)]
pub struct Issued {
    /// The key's description.
    pub info: KeyInfo,
    /// The whole key text (`lmk_<key_id>_<secret>`).
    pub key: Secret,
}

const INFO_COLS: &str = "key_id, scope, client, label, \
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at, \
    to_char(rotated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS rotated_at, \
    to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked_at";

/// Makes a key. `client` (raw form) is required for [`Scope::Client`] and refused otherwise.
pub async fn create(
    pool: &PgPool,
    scope: Scope,
    client: Option<&str>,
    label: &str,
) -> Result<Issued, KeyError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        return Err(KeyError::Invalid("label: 1 to 200 characters".into()));
    }
    match (scope, client) {
        (Scope::Client, None) => {
            return Err(KeyError::Invalid(
                "a client key needs the client's wallet address".into(),
            ));
        }
        (Scope::Read | Scope::Admin, Some(_)) => {
            return Err(KeyError::Invalid(
                "only a client key names a client wallet".into(),
            ));
        }
        _ => {}
    }
    let key_id = secret::new_key_id();
    let key = secret::new_key(&key_id);
    let sql = format!(
        "INSERT INTO api_keys (key_id, secret_sha256, scope, client, label) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {INFO_COLS}"
    );
    let info: KeyInfo = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&key_id)
        .bind(key.sha256().as_slice())
        .bind(scope.as_str())
        .bind(client)
        .bind(label)
        .fetch_one(pool)
        .await?;
    Ok(Issued { info, key })
}

/// Every key, newest first (revoked ones too, marked).
pub async fn list(pool: &PgPool) -> Result<Vec<KeyInfo>, KeyError> {
    let sql = format!("SELECT {INFO_COLS} FROM api_keys ORDER BY created_at DESC, key_id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?)
}

/// A new secret for a live key (same id, scope and client): the old text stops working at once.
pub async fn rotate(pool: &PgPool, key_id: &str) -> Result<Issued, KeyError> {
    let key = secret::new_key(key_id);
    let sql = format!(
        "UPDATE api_keys SET secret_sha256 = $2, rotated_at = now() \
         WHERE key_id = $1 AND revoked_at IS NULL RETURNING {INFO_COLS}"
    );
    let info: Option<KeyInfo> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key_id)
        .bind(key.sha256().as_slice())
        .fetch_optional(pool)
        .await?;
    let info = info.ok_or_else(|| KeyError::NotFound {
        key_id: key_id.to_owned(),
    })?;
    Ok(Issued { info, key })
}

/// Revokes a key (idempotent: revoking a revoked key answers it as it is).
pub async fn revoke(pool: &PgPool, key_id: &str) -> Result<KeyInfo, KeyError> {
    let sql = format!(
        "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now()) \
         WHERE key_id = $1 RETURNING {INFO_COLS}"
    );
    let info: Option<KeyInfo> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(key_id)
        .fetch_optional(pool)
        .await?;
    info.ok_or_else(|| KeyError::NotFound {
        key_id: key_id.to_owned(),
    })
}

/// A live key as a request sees it.
#[derive(Debug, Clone)]
pub struct LiveKey {
    /// Its id.
    pub key_id: String,
    /// Its scope.
    pub scope: Scope,
    /// A client key's wallet.
    pub client: Option<String>,
}

/// The live key with this id whose stored hash equals `sha256` (compared in constant time);
/// `None` for an unknown, revoked or wrong key.
pub async fn lookup(
    pool: &PgPool,
    key_id: &str,
    sha256: &[u8; 32],
) -> Result<Option<LiveKey>, sqlx::Error> {
    let row: Option<(Vec<u8>, String, Option<String>)> = sqlx::query_as(
        "SELECT secret_sha256, scope, client FROM api_keys \
         WHERE key_id = $1 AND revoked_at IS NULL",
    )
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.and_then(|(stored, scope, client)| {
        if !secret::same_hash(&stored, sha256) {
            return None;
        }
        Some(LiveKey {
            key_id: key_id.to_owned(),
            scope: Scope::parse(&scope)?,
            client,
        })
    }))
}
