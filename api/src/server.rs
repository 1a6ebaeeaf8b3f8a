//! The router (one `router()` per resource, merged here), its layers, and the server handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Request};
use axum::middleware;
use sqlx::PgPool;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::problem;
use crate::routes;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The read pool (runs as the read role).
    pub pool: PgPool,
    /// Whether user-friendly addresses carry the testnet flag.
    pub testnet: bool,
    /// `/ready`'s bound on the indexer's lag.
    pub max_indexer_lag: Duration,
    /// Request counters.
    pub metrics: Arc<Metrics>,
    /// API keys, sessions, ton_proof.
    pub auth: Arc<crate::auth::AuthState>,
    /// `/metrics` answers only loopback peers.
    pub metrics_loopback_only: bool,
    /// The writes (POST /v1/projects and its siblings).
    pub writes: Arc<WriteState>,
    /// The shared event poller and its fan-out (SSE).
    pub streams: Arc<crate::streams::Hub>,
    /// Webhooks (`None`: no webhook key configured; the routes answer 503).
    pub hooks: Option<Arc<Hooks>>,
    /// The rate limits' buckets.
    pub limiter: Arc<crate::ratelimit::Limiter>,
    /// Labeling (`None`: not served here; its routes answer 503).
    pub labeling: Option<labelmint_labeling::Labeling>,
}

/// What the write routes need.
#[derive(Debug)]
pub struct WriteState {
    /// The write pool (runs as `labelmint_api_write`).
    pub pool: PgPool,
    /// What new escrows are made with (`None`: project creation answers 503).
    pub config: Option<crate::config::WriteConfig>,
    /// The network's global id (TonConnect's `network`).
    pub global_id: i32,
}

/// What the webhook routes need.
#[derive(Debug)]
pub struct Hooks {
    /// The hooks pool (runs as `labelmint_api_hooks`).
    pub pool: PgPool,
    /// Seals and opens signing secrets.
    pub key: crate::webhooks::SealKey,
    /// Settings (clock, backoff, SSRF rule).
    pub config: crate::webhooks::WebhookConfig,
    /// The outbound client (test sends).
    pub sender: crate::webhooks::deliver::Sender,
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";
/// Where Swagger UI is served (it and [`OPENAPI_PATH`] are the only routes outside the
/// document; every other route is registered through `utoipa_axum::routes!`, which writes the
/// document's path and method from the same handler, and the tests check both ways).
pub const DOCS_PATH: &str = "/docs";

/// The OpenAPI document and the routes that produce it, before state and layers.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, doc) = OpenApiRouter::with_openapi(routes::ApiDoc::openapi())
        .merge(routes::ops::router())
        .merge(routes::projects::router())
        .merge(routes::project_writes::router())
        .merge(routes::vaults::router())
        .merge(routes::payouts::router())
        .merge(routes::workers::router())
        .merge(routes::streams::router())
        .merge(routes::webhooks::router())
        .merge(routes::transactions::router())
        .merge(routes::indexer::router())
        .merge(routes::auth::router())
        .merge(routes::admin::router())
        .merge(routes::labeling::router())
        .split_for_parts();
    let (routes, mut doc) = (routes, doc);
    routes::document::finish(&mut doc);
    (routes, doc)
}

/// The whole application: routes, `/openapi.json`, `/docs`, fallbacks and layers.
pub fn app(state: AppState, cors_origins: &[String]) -> Router {
    let (routes, openapi) = api();
    let cors = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::POST,
            Method::DELETE,
        ])
        // Listed, not `*`: browsers never let a wildcard cover `Authorization`.
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderName::from_static("x-request-id"),
            axum::http::HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            axum::http::HeaderName::from_static("x-request-id"),
            crate::idempotency::REPLAYED,
        ]);
    let cors = if cors_origins.is_empty() {
        cors.allow_origin(Any)
    } else {
        cors.allow_origin(AllowOrigin::list(
            cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
    };
    routes
        .merge(SwaggerUi::new(DOCS_PATH).url(OPENAPI_PATH, openapi))
        .fallback(problem::unknown_route)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(CatchPanicLayer::custom(problem::from_panic))
        .layer(DefaultBodyLimit::max(crate::config::DEFAULT_MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::ratelimit::enforce,
        ))
        .layer(middleware::from_fn(problem::finish))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::track,
        ))
        .with_state(state)
        // Outermost last: the request id is set first, then the span that carries it.
        .layer(CompressionLayer::new())
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    request_id = %id,
                    method = %req.method(),
                    path = %req.uri().path(),
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A running server.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Ends the background tasks (stream poller, open streams) at shutdown: open streams
    /// would otherwise keep the graceful shutdown waiting forever.
    stop: watch::Sender<bool>,
    background: Vec<JoinHandle<()>>,
    streams: Arc<crate::streams::Hub>,
}

impl Handle {
    /// The address it listens on (the real port when the configuration said 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The stream hub (counters for tests and metrics).
    pub fn streams(&self) -> &Arc<crate::streams::Hub> {
        &self.streams
    }

    /// Stops accepting, ends the open streams and background tasks, finishes the requests in
    /// flight, and waits.
    pub async fn shutdown(mut self) -> Result<()> {
        let _ = self.stop.send(true);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops (it runs until [`Handle::shutdown`] or an error).
    /// The background tasks (stream poller, webhook worker) stop with the server.
    pub async fn wait(self) -> Result<()> {
        let addr = self.addr;
        let served = self.task.await;
        let _ = self.stop.send(true);
        for t in self.background {
            let _ = t.await;
        }
        match served {
            Ok(r) => r.map_err(|source| Error::Listen { addr, source }),
            Err(e) => Err(Error::Listen {
                addr,
                source: std::io::Error::other(e),
            }),
        }
    }
}

/// Applies the migration (when configured), binds, and serves in a task.
pub async fn spawn(config: Config) -> Result<Handle> {
    if config.migrate {
        crate::db::migrate(&config).await?;
    }
    let pool = crate::db::read_pool(&config)?;
    let auth_pool = crate::db::auth_pool(&config)?;
    let write_pool = crate::db::write_pool(&config)?;
    let keys = if config.liteservers.is_empty() {
        None
    } else {
        Some(
            crate::tonproof::chain::KeyReader::new(config.liteservers.clone())
                .map_err(|e| Error::Config(format!("liteservers: {e}")))?,
        )
    };
    let (stop, stop_rx) = watch::channel(false);
    let (streams, poller) =
        crate::streams::Hub::spawn(pool.clone(), config.streams.clone(), stop_rx.clone());
    let mut background = vec![poller];
    let hooks = match &config.webhooks.key {
        None => None,
        Some(key) => {
            let pool = crate::db::hooks_pool(&config)?;
            if config.webhooks.deliver {
                background.push(crate::webhooks::deliver::spawn(
                    pool.clone(),
                    config.webhooks.clone(),
                    key.clone(),
                    stop_rx.clone(),
                ));
            }
            Some(Arc::new(Hooks {
                sender: crate::webhooks::deliver::Sender::new(&config.webhooks),
                pool,
                key: key.clone(),
                config: config.webhooks.clone(),
            }))
        }
    };
    let labeling = if config.labeling {
        let (pool, engine_pool, ledger_pool) = crate::db::labeling_pools(&config)?;
        let ledger = labelmint_ledger::Ledger::from_pool(ledger_pool);
        let l = labelmint_labeling::Labeling::new(
            pool,
            engine_pool,
            ledger,
            Arc::new(labelmint_labeling::SystemClock),
            true,
        );
        if config.migrate {
            l.migrate()
                .await
                .map_err(|e| Error::Config(format!("labeling migrations: {e}")))?;
        }
        Some(l)
    } else {
        None
    };
    let state = AppState {
        labeling,
        hooks,
        streams: streams.clone(),
        pool,
        testnet: config.network.testnet(),
        max_indexer_lag: config.max_indexer_lag,
        metrics: Arc::new(Metrics::default()),
        auth: Arc::new(crate::auth::AuthState {
            pool: auth_pool,
            proof: config.proof.clone(),
            keys,
            cache: crate::auth::cache::CredentialCache::new(config.credential_cache_ttl),
        }),
        metrics_loopback_only: !config.metrics_public,
        writes: Arc::new(WriteState {
            pool: write_pool,
            config: config.writes.clone(),
            global_id: config.network.global_id(),
        }),
        limiter: Arc::new(crate::ratelimit::Limiter::new(config.rate_limits.clone())),
    };
    crate::ratelimit::spawn_pruner(&state.limiter);
    let app = app(state, &config.cors_origins);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: config.listen,
        source,
    })?;
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await
    });
    tracing::info!(%addr, network = ?config.network, "labelmint-api listening");
    Ok(Handle {
        addr,
        shutdown: Some(tx),
        task,
        stop,
        background,
        streams,
    })
}
