//! The server's one typed configuration. The binary's flags convert into it; tests build it
//! with [`Config::test`].

use std::net::SocketAddr;
use std::time::Duration;

/// The address `labelmint-api` listens on by default (not a port `make up` uses: 4924, 7420,
/// 9184 and 9187 are taken there).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The database role every read runs as (`SET ROLE` at connect): SELECT only, on the tables
/// the API reads (migrations/*_api_read_role.sql).
pub const DEFAULT_DB_ROLE: &str = "labelmint_api_read";

/// The database role the auth tables are written as (`SET ROLE` at connect): API keys,
/// ton_proof payloads and sessions, nothing else (migrations/*_api_auth.sql).
pub const DEFAULT_AUTH_DB_ROLE: &str = "labelmint_api_auth";

/// The database role the writes run as (`SET ROLE` at connect): project creation, close
/// requests and idempotency records, nothing else (migrations/*_api_writes.sql).
pub const DEFAULT_WRITE_DB_ROLE: &str = "labelmint_api_write";

/// The platform fee of new escrows when none is configured (basis points: 2.5 %, the devnet
/// demo's).
pub const DEFAULT_FEE_BPS: u16 = 250;

/// What new escrows are made with (`POST /v1/projects`): the parts of an escrow's parameters
/// that are the platform's, not the client's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteConfig {
    /// The payout signer's ed25519 public key (the escrow trusts it for releases and closes).
    pub signer_key: [u8; 32],
    /// Where platform fees go.
    pub treasury: tycho_types::models::StdAddr,
    /// The platform fee in basis points of each release (at most 2000).
    pub fee_bps: u16,
}

/// The database role webhooks are written as (`SET ROLE` at connect): the webhook tables, and
/// SELECT on the events and ledger rows that say whose an event is
/// (migrations/*_api_webhooks.sql).
pub const DEFAULT_HOOKS_DB_ROLE: &str = "labelmint_api_hooks";
/// The largest request body taken (bytes): the API's bodies are small JSON (a ton_proof with
/// its StateInit is about 3 KB); a larger one is a 413 problem.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// The largest `limit` a list takes; the default is [`DEFAULT_PAGE`].
pub const MAX_PAGE: u32 = 200;
/// The `limit` of a list when none is given.
pub const DEFAULT_PAGE: u32 = 50;

/// The network the addresses belong to (the user-friendly form's testnet flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// TON mainnet (global id -239): testnet flag off.
    Mainnet,
    /// TON testnet (global id -3): testnet flag on.
    Testnet,
    /// The local devnet (global id 2026): testnet flag on (its coins are worthless).
    Devnet,
}

impl Network {
    /// Whether user-friendly addresses carry the testnet flag.
    pub fn testnet(self) -> bool {
        self != Network::Mainnet
    }

    /// The network's global id (TonConnect's `network`/`chain`: `-239`, `-3`; the devnet's 2026).
    pub fn global_id(self) -> i32 {
        match self {
            Network::Mainnet => -239,
            Network::Testnet => -3,
            Network::Devnet => 2026,
        }
    }
}

/// Everything the server needs.
#[derive(Clone)]
pub struct Config {
    /// Where to listen (port 0: any free port; [`crate::Handle::addr`] tells which).
    pub listen: SocketAddr,
    /// The Postgres URL of the database the indexer and the ledger write. It may hold a
    /// password: never logged (see the `Debug` impl), never taken from a command line.
    pub database_url: String,
    /// Reads run as this role (`SET ROLE` at connect; the login must be a member). `None`: the
    /// login's own rights (only for a login that is itself read-only).
    pub db_role: Option<String>,
    /// Apply the API's migration (the read role) at start, with the login's own rights.
    pub migrate: bool,
    /// The network of the addresses shown.
    pub network: Network,
    /// `/ready` answers 503 when the last indexed masterchain block is older than this.
    pub max_indexer_lag: Duration,
    /// Origins allowed by CORS; empty: any origin (the reads are public, no credentials).
    pub cors_origins: Vec<String>,
    /// Connections in the read pool.
    pub max_connections: u32,
    /// How long a request waits for a database connection before it answers 503.
    pub acquire_timeout: Duration,
    /// The auth tables are written as this role (`None`: the login's own rights).
    pub auth_db_role: Option<String>,
    /// The writes run as this role (`None`: the login's own rights).
    pub write_db_role: Option<String>,
    /// What new escrows are made with; `None`: `POST /v1/projects` answers 503
    /// `writes-disabled` (the other writes work).
    pub writes: Option<WriteConfig>,
    /// ton_proof: domains, windows, session lifetime.
    pub proof: crate::auth::ProofConfig,
    /// `/metrics` to any peer (`false`: loopback peers only; behind a reverse proxy on this
    /// host every peer is loopback, so guard `/metrics` at the proxy then).
    pub metrics_public: bool,
    /// Liteservers for `get_public_key` of deployed wallets (a global config's); empty: a
    /// ton_proof must carry its StateInit.
    pub liteservers: Vec<labelmint_indexer::lite::LiteServer>,
    /// Server-sent event streams: poll interval, buffers, keep-alive, per-caller cap.
    pub streams: crate::streams::StreamConfig,
    /// Webhooks: the sealing key, the worker, the SSRF rule, the schedule, the clock.
    pub webhooks: crate::webhooks::WebhookConfig,
    /// Webhook tables are written as this role (`None`: the login's own rights).
    pub hooks_db_role: Option<String>,
    /// Rate limits per caller and per client IP, trusted proxies, exempt keys.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// How long a verified API key or session is believed without a lookup (zero: never).
    pub credential_cache_ttl: Duration,
    /// Serve labeling (`/v1/tasks/*`, task sets, uploads; the consensus engine runs its passes
    /// in this process). Its migrations (the engine's and labeling's) are applied with the
    /// others.
    pub labeling: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &"<secret>")
            .field("db_role", &self.db_role)
            .field("migrate", &self.migrate)
            .field("network", &self.network)
            .field("max_indexer_lag", &self.max_indexer_lag)
            .field("cors_origins", &self.cors_origins)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("auth_db_role", &self.auth_db_role)
            .field("write_db_role", &self.write_db_role)
            .field("writes", &self.writes)
            .field("proof", &self.proof)
            .field("liteservers", &self.liteservers.len())
            .field("metrics_public", &self.metrics_public)
            .field("streams", &self.streams)
            .field("webhooks", &self.webhooks)
            .field("hooks_db_role", &self.hooks_db_role)
            .field("rate_limits", &self.rate_limits)
            .field("credential_cache_ttl", &self.credential_cache_ttl)
            .field("labeling", &self.labeling)
            .finish()
    }
}

impl Config {
    /// A test configuration on `database_url`: port 0 on 127.0.0.1, the read, auth, write and
    /// hooks roles, migrations applied, devnet addresses, a generous lag bound, ton_proof for
    /// the domain `labelmint.test`, no liteserver, no escrow configuration (tests set
    /// [`Config::writes`]), default streams, webhooks with a random key, the worker polling
    /// every 100 ms, private targets allowed (the tests' receivers listen on 127.0.0.1), rate
    /// limits on but at 100,000/s, the default credential cache.
    pub fn test(database_url: &str) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: database_url.to_owned(),
            db_role: Some(DEFAULT_DB_ROLE.to_owned()),
            migrate: true,
            network: Network::Devnet,
            max_indexer_lag: Duration::from_secs(u64::from(u32::MAX)),
            cors_origins: Vec::new(),
            max_connections: 4,
            acquire_timeout: Duration::from_secs(2),
            auth_db_role: Some(DEFAULT_AUTH_DB_ROLE.to_owned()),
            write_db_role: Some(DEFAULT_WRITE_DB_ROLE.to_owned()),
            writes: None,
            proof: crate::auth::ProofConfig::new(
                vec!["labelmint.test".to_owned()],
                Network::Devnet.global_id(),
            ),
            liteservers: Vec::new(),
            metrics_public: false,
            streams: crate::streams::StreamConfig::default(),
            webhooks: crate::webhooks::WebhookConfig {
                key: Some(crate::webhooks::SealKey::random()),
                allow_private: true,
                poll: Duration::from_millis(100),
                ..crate::webhooks::WebhookConfig::default()
            },
            hooks_db_role: Some(DEFAULT_HOOKS_DB_ROLE.to_owned()),
            // On, but far above what any test sends (an authorization matrix makes hundreds
            // of anonymous requests from 127.0.0.1); the rate limit tests set their own.
            rate_limits: crate::ratelimit::RateLimits {
                per_caller: crate::ratelimit::Rate::new(100_000, 100_000)
                    .unwrap_or(crate::ratelimit::Rate::MIN),
                per_ip: crate::ratelimit::Rate::new(100_000, 100_000)
                    .unwrap_or(crate::ratelimit::Rate::MIN),
                ..crate::ratelimit::RateLimits::default()
            },
            credential_cache_ttl: crate::auth::cache::DEFAULT_TTL,
            labeling: false,
        }
    }
}
