//! Request errors as RFC 9457 `application/problem+json`: one [`ApiError`] per kind, one
//! stable `type` URI per kind ([`ApiError::kind`]), and one place that writes them to the wire
//! ([`ApiError::into_response`] + the [`finish`] middleware, which adds `instance` and the
//! request id). Internal errors are logged with their cause and answered with a generic detail.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The base of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://labelmint.dev/problems/";

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error a request ends with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The resource the path names does not exist.
    #[error("{resource} {id} not found")]
    NotFound {
        /// `project`, `vault`, `batch`, `transaction`, ...
        resource: &'static str,
        /// The id as given.
        id: String,
    },
    /// A path or query parameter is malformed or out of range.
    #[error("parameter {parameter}: {reason}")]
    InvalidParameter {
        /// The parameter's name (`project_id`, `limit`, `cursor`, `address`, `query`, ...).
        parameter: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No route has this path.
    #[error("no route {path}")]
    UnknownRoute {
        /// The path asked for.
        path: String,
    },
    /// The route exists, the method does not.
    #[error("method {method} is not allowed here")]
    MethodNotAllowed {
        /// The method used.
        method: String,
    },
    /// `/ready`: a dependency is not ready.
    #[error("not ready: {reason}")]
    NotReady {
        /// Which dependency and why.
        reason: String,
    },
    /// The database did not answer (no connection within the acquire timeout, refused).
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(#[source] sqlx::Error),
    /// Anything else: a bug or an unexpected database answer (logged, never shown).
    #[error("internal error: {0}")]
    Internal(String),
    /// 401: the route needs a credential and none was sent.
    #[error("this route needs `Authorization: Bearer <API key or session token>`")]
    AuthenticationRequired,
    /// 401: the credential is malformed, unknown, rotated, revoked or expired.
    #[error("the bearer credential is not a live API key or session token")]
    InvalidCredentials,
    /// 403: the credential is good but its scope or role does not reach this route.
    #[error("{0}")]
    InsufficientScope(String),
    /// 403: the resource belongs to another wallet.
    #[error("this {resource} belongs to another wallet")]
    NotOwner {
        /// `project`, `worker`, `batch`.
        resource: &'static str,
    },
    /// 404 for an API key id that does not exist (admin routes).
    #[error("{0}")]
    KeyNotFound(String),
    /// 401: a ton_proof was refused, with the reason's own type.
    #[error("{detail}")]
    TonProof {
        /// Which check refused it.
        fault: crate::tonproof::ProofFault,
        /// What exactly (never the signature or a token).
        detail: String,
    },
    /// 503: the liteserver did not answer (get_public_key of a deployed wallet).
    #[error("liteserver unavailable: {0}")]
    LiteserverUnavailable(String),
    /// 422: an `Idempotency-Key` used before with another request (method, path or body).
    #[error(
        "this Idempotency-Key was used with another request (method, path or body); a new request needs a new key"
    )]
    IdempotencyKeyReused,
    /// 409: a request with this `Idempotency-Key` is still running.
    #[error("a request with this Idempotency-Key is still running; retry in a moment")]
    IdempotencyKeyInFlight,
    /// 409: the project is closing or closed (or not yet what the request needs).
    #[error("{0}")]
    ProjectNotActive(String),
    /// 409: the escrow is not deployed, or has not learned its jetton wallet, yet.
    #[error("{0}")]
    EscrowNotReady(String),
    /// 503: this server is not configured for writes (signer key, treasury).
    #[error("{0}")]
    WritesDisabled(String),
    /// 429: the caller has as many event streams open as it may.
    #[error("{open} event streams are open for this caller (at most {max}); close one first")]
    TooManyStreams {
        /// Streams open now.
        open: usize,
        /// The cap.
        max: usize,
    },
    /// 422: a webhook URL that is not allowed (scheme, length, or it resolves to a private,
    /// loopback or link-local address).
    #[error("webhook url refused: {0}")]
    WebhookUrlRefused(String),
    /// 503: this server has no webhook key configured.
    #[error("webhooks are not configured on this server (no webhook key)")]
    WebhooksUnavailable,
    /// 429: the caller's (or the client IP's) token bucket is empty.
    #[error("too many requests for this {by}; retry in {retry_after_secs} s")]
    RateLimited {
        /// Whole seconds until a token is back (also the `Retry-After` header).
        retry_after_secs: u64,
        /// `caller` or `client IP`: whose bucket.
        by: &'static str,
    },
    /// 413: the request body is larger than the server takes.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// 415: the body is not `application/json`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A labeling refusal (tasks, reservations, answers, uploads, withdrawals), with its own
    /// kind ([`labeling_kind`]).
    #[error("{0}")]
    Labeling(labelmint_labeling::Error),
    /// 503: this server does not serve labeling.
    #[error("labeling is not enabled on this server")]
    LabelingUnavailable,
}

impl From<labelmint_labeling::Error> for ApiError {
    fn from(e: labelmint_labeling::Error) -> Self {
        use labelmint_labeling::Error as L;
        match e {
            L::UnknownTask { task_id } => ApiError::NotFound {
                resource: "task",
                id: task_id.to_string(),
            },
            L::UnknownProject { project } => ApiError::NotFound {
                resource: "task set of project",
                id: project.to_string(),
            },
            L::Invalid { field, reason } => ApiError::param(field, reason),
            L::Db(d) => ApiError::from(d),
            L::Consensus(labelmint_consensus::Error::Db(d))
            | L::Ledger(labelmint_ledger::Error::Db(d)) => ApiError::from(d),
            L::Migrate(_) | L::Consensus(_) | L::Ledger(_) => ApiError::Internal(e.to_string()),
            other => ApiError::Labeling(other),
        }
    }
}

/// The problem kind of a labeling refusal (`internal` for what is not the caller's doing).
pub fn labeling_kind(e: &labelmint_labeling::Error) -> ProblemKind {
    use labelmint_labeling::Error as L;
    match e {
        L::NoReservation { .. } => ProblemKind::NoReservation,
        L::NotHolder { .. } => ProblemKind::NotReservationHolder,
        L::ReservationExpired { .. } => ProblemKind::ReservationExpired,
        L::LabelNotInSet { .. } => ProblemKind::LabelNotInSet,
        L::AnswerConflict { .. } => ProblemKind::AnswerConflict,
        L::AlreadyDone { .. } => ProblemKind::AlreadyDone,
        L::TaskClosed { .. } => ProblemKind::TaskClosed,
        L::WorkerCutOff { .. } => ProblemKind::WorkerCutOff,
        L::BudgetExhausted { .. } => ProblemKind::BudgetExhausted,
        L::BadRow { .. } => ProblemKind::InvalidUpload,
        L::Withdrawal(_) => ProblemKind::WithdrawalRefused,
        L::UnknownTask { .. } | L::UnknownProject { .. } => ProblemKind::NotFound,
        L::Invalid { .. } => ProblemKind::InvalidParameter,
        _ => ProblemKind::Internal,
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                ApiError::DatabaseUnavailable(e)
            }
            other => ApiError::Internal(format!("database: {other}")),
        }
    }
}

/// The problem kinds, each with its `type` slug, title and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// 404 `not-found`.
    NotFound,
    /// 400 `invalid-parameter`.
    InvalidParameter,
    /// 404 `unknown-route`.
    UnknownRoute,
    /// 405 `method-not-allowed`.
    MethodNotAllowed,
    /// 503 `not-ready`.
    NotReady,
    /// 503 `database-unavailable`.
    DatabaseUnavailable,
    /// 500 `internal`.
    Internal,
    /// 401 `authentication-required`.
    AuthenticationRequired,
    /// 401 `invalid-credentials`.
    InvalidCredentials,
    /// 403 `insufficient-scope`.
    InsufficientScope,
    /// 403 `not-owner`.
    NotOwner,
    /// 401 `ton-proof-<reason>`.
    TonProof(crate::tonproof::ProofFault),
    /// 503 `liteserver-unavailable`.
    LiteserverUnavailable,
    /// 422 `idempotency-key-reused`.
    IdempotencyKeyReused,
    /// 409 `idempotency-key-in-flight`.
    IdempotencyKeyInFlight,
    /// 409 `project-not-active`.
    ProjectNotActive,
    /// 409 `escrow-not-ready`.
    EscrowNotReady,
    /// 503 `writes-disabled`.
    WritesDisabled,
    /// 429 `too-many-streams`.
    TooManyStreams,
    /// 422 `webhook-url-refused`.
    WebhookUrlRefused,
    /// 503 `webhooks-unavailable`.
    WebhooksUnavailable,
    /// 429 `rate-limited`.
    RateLimited,
    /// 413 `payload-too-large`.
    PayloadTooLarge,
    /// 415 `unsupported-media-type`.
    UnsupportedMediaType,
    /// 409 `no-reservation`: the worker holds no reservation of the task.
    NoReservation,
    /// 403 `not-reservation-holder`: another worker holds the task.
    NotReservationHolder,
    /// 409 `reservation-expired`.
    ReservationExpired,
    /// 422 `label-not-in-set`.
    LabelNotInSet,
    /// 409 `answer-conflict`: answered before with another label.
    AnswerConflict,
    /// 409 `already-done`: answered or skipped before.
    AlreadyDone,
    /// 409 `task-closed`: decided while reserved.
    TaskClosed,
    /// 403 `worker-cut-off`: gold checks failed.
    WorkerCutOff,
    /// 409 `budget-exhausted`.
    BudgetExhausted,
    /// 422 `invalid-upload`: a bad row (its `line`).
    InvalidUpload,
    /// 422 `withdrawal-refused`.
    WithdrawalRefused,
    /// 503 `labeling-unavailable`.
    LabelingUnavailable,
}

impl ProblemKind {
    /// The slug after [`PROBLEM_BASE`].
    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::NotFound => "not-found",
            ProblemKind::InvalidParameter => "invalid-parameter",
            ProblemKind::UnknownRoute => "unknown-route",
            ProblemKind::MethodNotAllowed => "method-not-allowed",
            ProblemKind::NotReady => "not-ready",
            ProblemKind::DatabaseUnavailable => "database-unavailable",
            ProblemKind::Internal => "internal",
            ProblemKind::AuthenticationRequired => "authentication-required",
            ProblemKind::InvalidCredentials => "invalid-credentials",
            ProblemKind::InsufficientScope => "insufficient-scope",
            ProblemKind::NotOwner => "not-owner",
            ProblemKind::TonProof(f) => f.slug(),
            ProblemKind::LiteserverUnavailable => "liteserver-unavailable",
            ProblemKind::IdempotencyKeyReused => "idempotency-key-reused",
            ProblemKind::IdempotencyKeyInFlight => "idempotency-key-in-flight",
            ProblemKind::ProjectNotActive => "project-not-active",
            ProblemKind::EscrowNotReady => "escrow-not-ready",
            ProblemKind::WritesDisabled => "writes-disabled",
            ProblemKind::TooManyStreams => "too-many-streams",
            ProblemKind::WebhookUrlRefused => "webhook-url-refused",
            ProblemKind::WebhooksUnavailable => "webhooks-unavailable",
            ProblemKind::RateLimited => "rate-limited",
            ProblemKind::PayloadTooLarge => "payload-too-large",
            ProblemKind::UnsupportedMediaType => "unsupported-media-type",
            ProblemKind::NoReservation => "no-reservation",
            ProblemKind::NotReservationHolder => "not-reservation-holder",
            ProblemKind::ReservationExpired => "reservation-expired",
            ProblemKind::LabelNotInSet => "label-not-in-set",
            ProblemKind::AnswerConflict => "answer-conflict",
            ProblemKind::AlreadyDone => "already-done",
            ProblemKind::TaskClosed => "task-closed",
            ProblemKind::WorkerCutOff => "worker-cut-off",
            ProblemKind::BudgetExhausted => "budget-exhausted",
            ProblemKind::InvalidUpload => "invalid-upload",
            ProblemKind::WithdrawalRefused => "withdrawal-refused",
            ProblemKind::LabelingUnavailable => "labeling-unavailable",
        }
    }

    /// The human title (the same for every occurrence of the kind).
    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::NotFound => "Not found",
            ProblemKind::InvalidParameter => "Invalid parameter",
            ProblemKind::UnknownRoute => "Unknown route",
            ProblemKind::MethodNotAllowed => "Method not allowed",
            ProblemKind::NotReady => "Not ready",
            ProblemKind::DatabaseUnavailable => "Database unavailable",
            ProblemKind::Internal => "Internal error",
            ProblemKind::AuthenticationRequired => "Authentication required",
            ProblemKind::InvalidCredentials => "Invalid credentials",
            ProblemKind::InsufficientScope => "Insufficient scope",
            ProblemKind::NotOwner => "Not the owner",
            ProblemKind::TonProof(f) => f.title(),
            ProblemKind::LiteserverUnavailable => "Liteserver unavailable",
            ProblemKind::IdempotencyKeyReused => "Idempotency key reused",
            ProblemKind::IdempotencyKeyInFlight => "Idempotency key in flight",
            ProblemKind::ProjectNotActive => "Project not active",
            ProblemKind::EscrowNotReady => "Escrow not ready",
            ProblemKind::WritesDisabled => "Writes disabled",
            ProblemKind::TooManyStreams => "Too many streams",
            ProblemKind::WebhookUrlRefused => "Webhook URL refused",
            ProblemKind::WebhooksUnavailable => "Webhooks unavailable",
            ProblemKind::RateLimited => "Too many requests",
            ProblemKind::PayloadTooLarge => "Payload too large",
            ProblemKind::UnsupportedMediaType => "Unsupported media type",
            ProblemKind::NoReservation => "No reservation",
            ProblemKind::NotReservationHolder => "Not the reservation holder",
            ProblemKind::ReservationExpired => "Reservation expired",
            ProblemKind::LabelNotInSet => "Label not in the set",
            ProblemKind::AnswerConflict => "Answer conflict",
            ProblemKind::AlreadyDone => "Already done",
            ProblemKind::TaskClosed => "Task closed",
            ProblemKind::WorkerCutOff => "Worker cut off",
            ProblemKind::BudgetExhausted => "Budget exhausted",
            ProblemKind::InvalidUpload => "Invalid upload",
            ProblemKind::WithdrawalRefused => "Withdrawal refused",
            ProblemKind::LabelingUnavailable => "Labeling unavailable",
        }
    }

    /// The HTTP status.
    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::NotFound | ProblemKind::UnknownRoute => StatusCode::NOT_FOUND,
            ProblemKind::InvalidParameter => StatusCode::BAD_REQUEST,
            ProblemKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ProblemKind::NotReady
            | ProblemKind::DatabaseUnavailable
            | ProblemKind::LiteserverUnavailable
            | ProblemKind::WritesDisabled => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::IdempotencyKeyInFlight
            | ProblemKind::ProjectNotActive
            | ProblemKind::EscrowNotReady => StatusCode::CONFLICT,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ProblemKind::TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::WebhookUrlRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::WebhooksUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::AuthenticationRequired
            | ProblemKind::InvalidCredentials
            | ProblemKind::TonProof(_) => StatusCode::UNAUTHORIZED,
            ProblemKind::InsufficientScope | ProblemKind::NotOwner => StatusCode::FORBIDDEN,
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ProblemKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ProblemKind::NoReservation
            | ProblemKind::ReservationExpired
            | ProblemKind::AnswerConflict
            | ProblemKind::AlreadyDone
            | ProblemKind::TaskClosed
            | ProblemKind::BudgetExhausted => StatusCode::CONFLICT,
            ProblemKind::NotReservationHolder | ProblemKind::WorkerCutOff => StatusCode::FORBIDDEN,
            ProblemKind::LabelNotInSet
            | ProblemKind::InvalidUpload
            | ProblemKind::WithdrawalRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::LabelingUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl ApiError {
    /// Its kind.
    pub fn kind(&self) -> ProblemKind {
        match self {
            ApiError::NotFound { .. } => ProblemKind::NotFound,
            ApiError::InvalidParameter { .. } => ProblemKind::InvalidParameter,
            ApiError::UnknownRoute { .. } => ProblemKind::UnknownRoute,
            ApiError::MethodNotAllowed { .. } => ProblemKind::MethodNotAllowed,
            ApiError::NotReady { .. } => ProblemKind::NotReady,
            ApiError::DatabaseUnavailable(_) => ProblemKind::DatabaseUnavailable,
            ApiError::Internal(_) => ProblemKind::Internal,
            ApiError::AuthenticationRequired => ProblemKind::AuthenticationRequired,
            ApiError::InvalidCredentials => ProblemKind::InvalidCredentials,
            ApiError::InsufficientScope(_) => ProblemKind::InsufficientScope,
            ApiError::NotOwner { .. } => ProblemKind::NotOwner,
            ApiError::KeyNotFound(_) => ProblemKind::NotFound,
            ApiError::TonProof { fault, .. } => ProblemKind::TonProof(*fault),
            ApiError::LiteserverUnavailable(_) => ProblemKind::LiteserverUnavailable,
            ApiError::IdempotencyKeyReused => ProblemKind::IdempotencyKeyReused,
            ApiError::IdempotencyKeyInFlight => ProblemKind::IdempotencyKeyInFlight,
            ApiError::ProjectNotActive(_) => ProblemKind::ProjectNotActive,
            ApiError::EscrowNotReady(_) => ProblemKind::EscrowNotReady,
            ApiError::WritesDisabled(_) => ProblemKind::WritesDisabled,
            ApiError::TooManyStreams { .. } => ProblemKind::TooManyStreams,
            ApiError::WebhookUrlRefused(_) => ProblemKind::WebhookUrlRefused,
            ApiError::WebhooksUnavailable => ProblemKind::WebhooksUnavailable,
            ApiError::RateLimited { .. } => ProblemKind::RateLimited,
            ApiError::PayloadTooLarge { .. } => ProblemKind::PayloadTooLarge,
            ApiError::UnsupportedMediaType(_) => ProblemKind::UnsupportedMediaType,
            ApiError::Labeling(e) => labeling_kind(e),
            ApiError::LabelingUnavailable => ProblemKind::LabelingUnavailable,
        }
    }

    /// A bad parameter.
    pub fn param(parameter: &str, reason: impl Into<String>) -> ApiError {
        ApiError::InvalidParameter {
            parameter: parameter.to_owned(),
            reason: reason.into(),
        }
    }

    /// The problem body (without `instance` and `request_id`: [`finish`] adds them).
    pub fn problem(&self) -> Problem {
        let kind = self.kind();
        let detail = match self {
            ApiError::DatabaseUnavailable(_) => {
                "the database did not answer in time; retry later".to_owned()
            }
            ApiError::Internal(_) => {
                "an internal error occurred; it was logged with this request's id".to_owned()
            }
            ApiError::LiteserverUnavailable(_) => {
                "the liteserver did not answer; retry later, or send the wallet's StateInit"
                    .to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("{PROBLEM_BASE}{}", kind.slug()),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail,
            instance: None,
            request_id: None,
            parameter: match self {
                ApiError::InvalidParameter { parameter, .. } => Some(parameter.clone()),
                _ => None,
            },
            line: match self {
                ApiError::Labeling(labelmint_labeling::Error::BadRow { line, .. }) => Some(*line),
                _ => None,
            },
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct Problem {
    /// A stable URI per kind of error: `https://labelmint.dev/problems/<slug>`.
    #[serde(rename = "type")]
    #[schema(example = "https://labelmint.dev/problems/not-found")]
    pub kind: String,
    /// The kind's title (the same for every occurrence).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The request path of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The request's `x-request-id` (the same as in the logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// `invalid-parameter`: the parameter's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// `invalid-upload`: the 1-based line of the first bad row (nothing was loaded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, Json(p)).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if status == StatusCode::UNAUTHORIZED {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"labelmint\""),
        );
    }
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::DatabaseUnavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            ApiError::LiteserverUnavailable(cause) => {
                tracing::warn!(%cause, "liteserver unavailable");
            }
            _ => {}
        }
        let p = self.problem();
        let mut res = problem_response(&p);
        res.extensions_mut().insert(p);
        res
    }
}

/// Middleware: a response carrying a [`Problem`] gets its `instance` (the request path) and
/// `request_id` filled in and its body rewritten.
pub async fn finish(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.run(req).await;
    let Some(mut p) = res.extensions().get::<Problem>().cloned() else {
        return res;
    };
    p.instance = Some(path);
    p.request_id = request_id;
    let (mut parts, _) = res.into_parts();
    let fresh = problem_response(&p);
    let (fresh_parts, body) = fresh.into_parts();
    // The fresh headers win (type, length); the route's own (Retry-After, RateLimit-*,
    // Allow, Idempotent-Replayed) stay.
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &fresh_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    parts.extensions.insert(p);
    Response::from_parts(parts, body)
}

/// The router's fallback: an unknown route.
pub async fn unknown_route(req: Request) -> ApiError {
    ApiError::UnknownRoute {
        path: req.uri().path().chars().take(200).collect(),
    }
}

/// The router's fallback for a known route with another method.
pub async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: req.method().to_string(),
    }
}

/// A panic in a handler (caught by tower-http): a 500 problem, never a dropped connection.
pub fn from_panic(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("a handler panicked".to_owned()).into_response()
}
