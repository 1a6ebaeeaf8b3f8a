//! One module per resource, each with its own `router()`; [`crate::server::api`] merges them.
//! Every read route takes a [`crate::auth::Caller`] (401 without one); `ops` and `auth` are
//! public, `admin` needs an admin key; `project_writes` holds the POST routes of projects
//! (`Idempotency-Key`); `streams` serves server-sent events; `webhooks` the clients' webhook
//! endpoints.

pub mod admin;
pub mod auth;
pub mod document;
pub mod indexer;
pub mod labeling;
pub mod ops;
pub mod payouts;
pub mod project_writes;
pub mod projects;
pub mod streams;
pub mod transactions;
pub mod vaults;
pub mod webhooks;
pub mod workers;

/// The document's header; the paths come from the routers.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "LabelMint Pay status API",
        description = "The indexed chain and the ledger of LabelMint Pay. Amounts are decimal strings in base units (nanoTON, jetton base units) with `currency` and `decimals`; addresses carry their raw and user-friendly forms; lists page with an opaque `cursor` and `next_cursor`; errors are RFC 9457 problem+json with a stable `type` URI.",
        license(name = "Apache-2.0")
    ),
    components(schemas(crate::problem::Problem)),
    modifiers(&BearerScheme),
    tags(
        (name = "ops", description = "Liveness, readiness, metrics"),
        (name = "projects", description = "Projects and their escrows"),
        (name = "vaults", description = "Payout vaults"),
        (name = "payouts", description = "Payout batches and their items"),
        (name = "workers", description = "A worker's earnings and payouts"),
        (name = "streams", description = "Server-sent events per project and per worker, resumable with Last-Event-ID"),
        (name = "webhooks", description = "Signed webhooks per client: endpoints, secret rotation, delivery log, test send. Each POST carries `LabelMint-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>` and `LabelMint-Event-Id` (de-duplicate by it); the body is `{event_id, type, created_at, project_id, data}`. Non-2xx answers are retried 30 s, 1 min, 2 min, ... doubling to 4 h (+0-20 % jitter) for 24 h, then the delivery is `failed`."),
        (name = "chain", description = "Indexed transactions and the indexer's progress"),
        (name = "auth", description = "TonConnect ton_proof wallet login and sessions"),
        (name = "admin", description = "API keys (admin key only)"),
        (name = "labeling", description = "Task sets, task uploads, 30-minute reservations, answers, skips, history, progress, worker quality and decided labels (labelmint-labeling; served with --labeling)"),
    )
)]
pub struct ApiDoc;

/// Adds the `bearer` security scheme (API key `lmk_...` or session token `lms_...`).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`lmk_<key_id>_<secret>`, from an admin or `labelmint api-key create`) or a wallet session token (`lms_...`, from POST /v1/auth/ton-proof).",
                    ))
                    .build(),
            ),
        );
    }
}
