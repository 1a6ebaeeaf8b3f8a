//! `/v1/webhooks`: a client's webhook endpoints (create, list, disable, rotate the secret),
//! their delivery log, and a test send. A client key or a wallet session owns the endpoints
//! it makes (they get that wallet's projects' events); an admin key sees and manages all,
//! and may make endpoints for a client (`client`) or for every project (no `client`). A read
//! key cannot use them (403).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::keys::Scope;
use crate::auth::secret::random_bytes;
use crate::auth::{Caller, Principal};
use crate::extract::{J, Q, Seg};
use crate::problem::{ApiError, Problem};
use crate::server::{AppState, Hooks};
use crate::webhooks::deliver::{Claimed, attempt, lease_ms};
use crate::webhooks::store::{self, Delivery, Endpoint};
use crate::webhooks::{rfc3339_ms, ssrf};
use crate::wire::{Address, Page, PageQuery, clip, page, parse_address};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_endpoint, list_endpoints))
        .routes(routes!(disable_endpoint))
        .routes(routes!(rotate_secret))
        .routes(routes!(list_deliveries))
        .routes(routes!(test_send))
}

/// A webhook endpoint (its secret is shown only when made or rotated).
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointView {
    /// `we_<16 hex>`.
    pub endpoint_id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The event types it gets (`null`: all).
    pub events: Option<Vec<String>>,
    /// The client whose projects' events it gets; `null`: every project (an admin's).
    pub client: Option<Address>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, the last secret rotation.
    pub rotated_at: Option<String>,
    /// RFC 3339: disabled endpoints get nothing more.
    pub disabled_at: Option<String>,
}

fn view(e: Endpoint, testnet: bool) -> EndpointView {
    EndpointView {
        endpoint_id: e.id,
        url: e.url,
        events: e.events,
        client: e.owner.map(|o| Address::wallet(&o, testnet)),
        created_at: e.created_at,
        rotated_at: e.rotated_at,
        disabled_at: e.disabled_at,
    }
}

/// An endpoint just made or rotated, with its signing secret: shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    /// `whsec_...`: the HMAC-SHA256 key of `LabelMint-Signature`. Not shown again: keep it.
    pub secret: String,
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EndpointView,
}

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://` (or `http://`) URL, at most 2,048 characters, of a public host.
    pub url: String,
    /// Only these event types (TL-B names, e.g. `ev_deposit`); omitted: all.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Admin key only: the client wallet whose projects' events it gets (raw or
    /// user-friendly); omitted: every project.
    #[serde(default)]
    pub client: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1, 2, ...
    pub attempt: i32,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// The receiver's HTTP status; `null` when it did not answer.
    pub status_code: Option<i32>,
    /// Why it failed (`null`: a 2xx).
    pub error: Option<String>,
}

/// A delivery: one event to one endpoint, and its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Its id (decimal string).
    pub delivery_id: String,
    /// The event id (the body's `event_id`, the `LabelMint-Event-Id` header).
    pub event_id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// `pending` (another attempt is due at `next_attempt_at`), `delivered` (a 2xx came;
    /// never sent again) or `failed` (given up after 24 h, or the endpoint was disabled).
    pub state: String,
    /// Attempts made.
    pub attempts: i32,
    /// RFC 3339: when the delivery was made.
    pub created_at: String,
    /// RFC 3339: when the next attempt is due (pending only).
    pub next_attempt_at: Option<String>,
    /// RFC 3339: when it was delivered or given up.
    pub finished_at: Option<String>,
    /// The last answer's status.
    pub last_status: Option<i32>,
    /// The last error.
    pub last_error: Option<String>,
    /// Every attempt, first first.
    pub attempt_log: Vec<AttemptView>,
}

fn delivery_view(d: Delivery) -> DeliveryView {
    DeliveryView {
        delivery_id: d.id.to_string(),
        event_id: d.event_id,
        event_type: d.event_type,
        state: d.state,
        attempts: d.attempts,
        created_at: rfc3339_ms(d.created_ms),
        next_attempt_at: d.next_attempt_ms.map(rfc3339_ms),
        finished_at: d.finished_ms.map(rfc3339_ms),
        last_status: d.last_status,
        last_error: d.last_error,
        attempt_log: d
            .log
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                started_at: rfc3339_ms(a.started_ms),
                finished_at: rfc3339_ms(a.finished_ms),
                status_code: a.status_code,
                error: a.error,
            })
            .collect(),
    }
}

fn hooks(st: &AppState) -> Result<&Hooks, ApiError> {
    st.hooks.as_deref().ok_or(ApiError::WebhooksUnavailable)
}

/// `Ok(None)`: an admin (everything); `Ok(Some(W))`: a client key or session of wallet W.
fn scope(who: &Principal) -> Result<Option<&str>, ApiError> {
    match who {
        Principal::Key {
            scope: Scope::Read, ..
        } => Err(ApiError::InsufficientScope(
            "webhooks need a client or admin API key, or a wallet session".into(),
        )),
        other => Ok(other.owner()),
    }
}

fn parse_endpoint_id(s: &str) -> Result<String, ApiError> {
    let ok = s.len() == 19
        && s.starts_with("we_")
        && s[3..]
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(ApiError::param(
            "endpoint_id",
            format!(
                "{:?} is not an endpoint id (we_ and 16 hex digits)",
                clip(s)
            ),
        ))
    }
}

/// The endpoint `id` if the caller may manage it (404 unknown, 403 another wallet's).
async fn owned<'a>(
    st: &'a AppState,
    who: &Principal,
    id: &str,
) -> Result<(&'a Hooks, Endpoint), ApiError> {
    let h = hooks(st)?;
    let mine = scope(who)?;
    let id = parse_endpoint_id(id)?;
    let ep = store::get(&h.pool, &id).await?.ok_or(ApiError::NotFound {
        resource: "webhook endpoint",
        id: id.clone(),
    })?;
    if let Some(me) = mine
        && ep.owner.as_deref() != Some(me)
    {
        return Err(ApiError::NotOwner {
            resource: "webhook endpoint",
        });
    }
    Ok((h, ep))
}

fn check_events(events: Option<Vec<String>>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(events) = events else {
        return Ok(None);
    };
    if events.is_empty() || events.len() > 64 {
        return Err(ApiError::param(
            "events",
            "between 1 and 64 event types, or omit it for all",
        ));
    }
    for e in &events {
        let known = labelmint_abi::opcodes::ALL
            .iter()
            .any(|(name, _)| name.starts_with("ev_") && name == e);
        if !known {
            return Err(ApiError::param(
                "events",
                format!(
                    "{:?} is not an event type (ev_deposit, ev_release, ...)",
                    clip(e)
                ),
            ));
        }
    }
    let mut events = events;
    events.sort();
    events.dedup();
    Ok(Some(events))
}

/// Makes an endpoint. Answers its signing secret, once. The URL must be http(s), at most
/// 2,048 characters, and resolve to public addresses only (422 `webhook-url-refused`).
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])), request_body = NewEndpoint,
    responses(
        (status = 201, body = EndpointWithSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_endpoint(
    State(st): State<AppState>,
    Caller(who): Caller,
    J(body): J<NewEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let h = hooks(&st)?;
    let mine = scope(&who)?;
    let owner = match (mine, &body.client) {
        (Some(me), None) => Some(me.to_owned()),
        (Some(_), Some(_)) => {
            return Err(ApiError::param(
                "client",
                "only an admin key may name a client: yours is implied",
            ));
        }
        (None, Some(c)) => Some(parse_address("client", c)?),
        (None, None) => None,
    };
    let events = check_events(body.events)?;
    let url = ssrf::check(&body.url, h.config.allow_private)
        .await
        .map_err(ApiError::WebhookUrlRefused)?;
    let (ep, secret) = store::create(
        &h.pool,
        &h.key,
        owner.as_deref(),
        &who.caller_id(),
        url.as_str(),
        events.as_deref(),
    )
    .await?;
    tracing::info!(endpoint = %ep.id, owner = ?ep.owner, "webhook endpoint made");
    Ok((
        StatusCode::CREATED,
        Json(EndpointWithSecret {
            secret: secret.expose().to_owned(),
            endpoint: view(ep, st.testnet),
        }),
    ))
}

/// The caller's endpoints (an admin: all), newest first, at most 200.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<EndpointView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_endpoints(
    State(st): State<AppState>,
    Caller(who): Caller,
) -> Result<Json<Vec<EndpointView>>, ApiError> {
    let h = hooks(&st)?;
    let mine = scope(&who)?;
    let eps = store::list(&h.pool, mine, 200).await?;
    Ok(Json(eps.into_iter().map(|e| view(e, st.testnet)).collect()))
}

/// Disables an endpoint: it gets nothing more, its pending deliveries fail; its log stays.
#[utoipa::path(delete, path = "/v1/webhooks/{endpoint_id}", tag = "webhooks",
    security(("bearer" = [])),
    params(("endpoint_id" = String, Path, description = "we_<16 hex>")),
    responses(
        (status = 200, body = EndpointView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn disable_endpoint(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<EndpointView>, ApiError> {
    let (h, ep) = owned(&st, &who, &id).await?;
    let ep = store::disable(&h.pool, &ep.id, h.config.clock.now_ms())
        .await?
        .ok_or(ApiError::NotFound {
            resource: "webhook endpoint",
            id: ep.id,
        })?;
    Ok(Json(view(ep, st.testnet)))
}

/// A new signing secret (answered once); the old one stops signing at once.
#[utoipa::path(post, path = "/v1/webhooks/{endpoint_id}/rotate-secret", tag = "webhooks",
    security(("bearer" = [])),
    params(("endpoint_id" = String, Path, description = "we_<16 hex>")),
    responses(
        (status = 200, body = EndpointWithSecret),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn rotate_secret(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    let (h, ep) = owned(&st, &who, &id).await?;
    let (ep, secret) = store::rotate(&h.pool, &h.key, &ep.id)
        .await?
        .ok_or(ApiError::NotFound {
            resource: "live webhook endpoint",
            id: ep.id,
        })?;
    tracing::info!(endpoint = %ep.id, "webhook secret rotated");
    Ok(Json(EndpointWithSecret {
        secret: secret.expose().to_owned(),
        endpoint: view(ep, st.testnet),
    }))
}

/// The delivery log: each delivery (newest first) with its attempts, status codes, errors and
/// next attempt.
#[utoipa::path(get, path = "/v1/webhooks/{endpoint_id}/deliveries", tag = "webhooks",
    security(("bearer" = [])),
    params(("endpoint_id" = String, Path, description = "we_<16 hex>"), PageQuery),
    responses(
        (status = 200, body = Page<DeliveryView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_deliveries(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
    Q(q): Q<PageQuery>,
) -> Result<Json<Page<DeliveryView>>, ApiError> {
    let (h, ep) = owned(&st, &who, &id).await?;
    let limit = q.limit()?;
    let before = q.cursor_i64("d", 1)?.map(|k| k[0]);
    let rows = store::deliveries(&h.pool, &ep.id, before, i64::from(limit) + 1).await?;
    Ok(Json(page(
        rows,
        limit,
        "d",
        |d| vec![d.id.to_string()],
        delivery_view,
    )))
}

/// Sends a `webhook_test` event to the endpoint now (signed like every event) and answers
/// the delivery with this first attempt; a failed one is retried like any delivery.
#[utoipa::path(post, path = "/v1/webhooks/{endpoint_id}/test", tag = "webhooks",
    security(("bearer" = [])),
    params(("endpoint_id" = String, Path, description = "we_<16 hex>")),
    responses(
        (status = 200, body = DeliveryView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ))]
async fn test_send(
    State(st): State<AppState>,
    Caller(who): Caller,
    Seg(id): Seg,
) -> Result<Json<DeliveryView>, ApiError> {
    let (h, ep) = owned(&st, &who, &id).await?;
    if ep.disabled_at.is_some() {
        return Err(ApiError::NotFound {
            resource: "live webhook endpoint",
            id: ep.id,
        });
    }
    let now = h.config.clock.now_ms();
    let event_id = format!("test_{}", hex::encode(random_bytes::<8>()));
    let body = serde_json::json!({
        "event_id": event_id,
        "type": "webhook_test",
        "created_at": rfc3339_ms(now),
        "project_id": null,
        "data": { "endpoint_id": ep.id, "message": "a test event from LabelMint Pay" },
    })
    .to_string();
    // Made already claimed (attempt 1, leased), so the worker does not send it meanwhile.
    let (delivery_id, sealed): (i64, Vec<u8>) = sqlx::query_as(
        "WITH d AS (INSERT INTO api_webhook_deliveries \
           (endpoint_id, event_id, event_type, body, created_ms, next_attempt_ms, attempts) \
           VALUES ($1, $2, 'webhook_test', $3, $4, $4 + $5, 1) RETURNING id) \
         SELECT d.id, w.secret_sealed FROM d, api_webhook_endpoints w WHERE w.id = $1",
    )
    .bind(&ep.id)
    .bind(&event_id)
    .bind(&body)
    .bind(now)
    .bind(lease_ms(&h.config))
    .fetch_one(&h.pool)
    .await?;
    let claimed = Claimed {
        id: delivery_id,
        endpoint_id: ep.id.clone(),
        event_id,
        body,
        attempts: 1,
        created_ms: now,
        url: ep.url.clone(),
        secret_sealed: sealed,
    };
    attempt(&h.pool, &h.sender, &h.key, &h.config, &claimed).await?;
    let d = store::deliveries(&h.pool, &ep.id, Some(delivery_id + 1), 1)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("the test delivery vanished".into()))?;
    Ok(Json(delivery_view(d)))
}
