//! One module per resource, each with its own `router()`; [`crate::server::api`] merges them.
//! Auth extractors (API keys, ton_proof sessions), writes, webhooks and SSE will be further
//! modules merged there; the reads below are public.

pub mod indexer;
pub mod ops;
pub mod payouts;
pub mod projects;
pub mod transactions;
pub mod vaults;
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
    tags(
        (name = "ops", description = "Liveness, readiness, metrics"),
        (name = "projects", description = "Projects and their escrows"),
        (name = "vaults", description = "Payout vaults"),
        (name = "payouts", description = "Payout batches and their items"),
        (name = "workers", description = "A worker's earnings and payouts"),
        (name = "chain", description = "Indexed transactions and the indexer's progress"),
    )
)]
pub struct ApiDoc;
