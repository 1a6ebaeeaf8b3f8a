//! `labelmint-api`: the status API server. Flags and environment into a
//! [`labelmint_api::Config`], then serve until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, ValueEnum};
use labelmint_api::auth::ProofConfig;
use labelmint_api::config::{
    DEFAULT_AUTH_DB_ROLE, DEFAULT_DB_ROLE, DEFAULT_FEE_BPS, DEFAULT_HOOKS_DB_ROLE, DEFAULT_LISTEN,
    DEFAULT_WRITE_DB_ROLE, WriteConfig,
};
use labelmint_api::ratelimit::{Rate, RateLimits};
use labelmint_api::webhooks::{SealKey, WebhookConfig};
use labelmint_api::{Config, Network};

/// The database `make up` writes (the private cluster of scripts/pg.sh, its fixed local
/// password, 127.0.0.1 only: not a secret), as the CLI's default.
const DEFAULT_DATABASE_URL: &str = "postgres://labelmint:labelmint@127.0.0.1:54329/labelmint_up";

/// The LabelMint Pay status API: the indexed chain and the ledger as JSON.
///
/// The database URL comes from DATABASE_URL or a file (--database-url-file), never from a flag
/// value: it may hold a password. Default: the database `make up` writes.
///
/// Example: `labelmint-api --listen 127.0.0.1:8080 --network devnet`, then
/// `curl -s http://127.0.0.1:8080/v1/indexer/status` and open http://127.0.0.1:8080/docs.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Where to listen.
    #[arg(long, env = "LABELMINT_API_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// A file whose first line is the Postgres URL (wins over DATABASE_URL).
    #[arg(long, env = "LABELMINT_DATABASE_URL_FILE", value_name = "PATH")]
    database_url_file: Option<PathBuf>,
    /// The role reads run as (SET ROLE; the login must be a member). Empty: the login's own.
    #[arg(long, env = "LABELMINT_API_DB_ROLE", default_value = DEFAULT_DB_ROLE)]
    db_role: String,
    /// Do not apply the API's migration at start (the login may not create roles; run it as
    /// the database owner first).
    #[arg(long, env = "LABELMINT_API_SKIP_MIGRATIONS")]
    skip_migrations: bool,
    /// The network of the addresses shown (testnet flag on for testnet and devnet).
    #[arg(long, env = "LABELMINT_NETWORK", value_enum, default_value_t = NetworkArg::Devnet)]
    network: NetworkArg,
    /// `/ready` fails when the last indexed masterchain block is older than this (seconds).
    #[arg(long, env = "LABELMINT_API_MAX_INDEXER_LAG", default_value_t = 60)]
    max_indexer_lag: u64,
    /// An origin CORS allows (repeat; none: any origin).
    #[arg(
        long = "cors-origin",
        env = "LABELMINT_API_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Connections in the read pool.
    #[arg(long, env = "LABELMINT_API_DB_CONNECTIONS", default_value_t = 16)]
    db_connections: u32,
    /// The role API keys, ton_proof payloads and sessions are written as. Empty: the login's own.
    #[arg(long, env = "LABELMINT_API_AUTH_DB_ROLE", default_value = DEFAULT_AUTH_DB_ROLE)]
    auth_db_role: String,
    /// The role writes run as (project creation, close requests, idempotency records). Empty:
    /// the login's own.
    #[arg(long, env = "LABELMINT_API_WRITE_DB_ROLE", default_value = DEFAULT_WRITE_DB_ROLE)]
    write_db_role: String,
    /// The payout signer's ed25519 PUBLIC key (64 hex; `payout-signer` prints it) that new
    /// escrows trust. Without it (and --treasury) POST /v1/projects answers 503.
    #[arg(long, env = "LABELMINT_SIGNER_PUBLIC_KEY")]
    signer_public_key: Option<String>,
    /// Where new escrows send platform fees (raw or user-friendly address).
    #[arg(long, env = "LABELMINT_TREASURY")]
    treasury: Option<String>,
    /// The platform fee of new escrows, basis points of each release (at most 2000).
    #[arg(long, env = "LABELMINT_FEE_BPS", default_value_t = DEFAULT_FEE_BPS,
          value_parser = clap::value_parser!(u16).range(0..=2000))]
    fee_bps: u16,
    /// A domain a ton_proof may name (the dApp's host; repeat). None: wallet login refuses
    /// every proof (ton-proof-domain).
    #[arg(
        long = "ton-proof-domain",
        env = "LABELMINT_TON_PROOF_DOMAINS",
        value_delimiter = ','
    )]
    ton_proof_domains: Vec<String>,
    /// How old a ton_proof's timestamp may be, and how long an issued payload lasts (seconds).
    #[arg(long, env = "LABELMINT_TON_PROOF_TTL", default_value_t = 900)]
    ton_proof_ttl: u64,
    /// How far ahead of this server's clock a ton_proof's timestamp may be (seconds).
    #[arg(long, env = "LABELMINT_TON_PROOF_SKEW", default_value_t = 60)]
    ton_proof_skew: u64,
    /// How long a wallet session lasts (seconds).
    #[arg(long, env = "LABELMINT_SESSION_TTL", default_value_t = 86_400)]
    session_ttl: u64,
    /// Serve /metrics to any peer (default: only connections from this host).
    #[arg(long, env = "LABELMINT_API_METRICS_PUBLIC")]
    metrics_public: bool,
    /// A TON global config whose liteservers answer get_public_key for deployed wallets that
    /// log in without a StateInit (the devnet writes .data/devnet/global-config.json). None:
    /// a ton_proof must carry its StateInit.
    #[arg(long, env = "LABELMINT_GLOBAL_CONFIG", value_name = "PATH")]
    global_config: Option<PathBuf>,
    /// A file holding the webhook key: 64 hex digits (32 random bytes, e.g. `openssl rand
    /// -hex 32`) that seal the endpoints' signing secrets at rest. None: the webhook routes
    /// answer 503 and nothing is delivered. Keep the file: without it no secret opens.
    #[arg(long, env = "LABELMINT_API_WEBHOOK_KEY_FILE", value_name = "PATH")]
    webhook_key_file: Option<PathBuf>,
    /// Accept webhook URLs that resolve to loopback, private or link-local addresses (local
    /// stacks and tests only: it lets a client make this server call inside hosts).
    #[arg(long, env = "LABELMINT_API_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
    /// Do not run the webhook delivery worker in this process (another process does).
    #[arg(long, env = "LABELMINT_API_NO_WEBHOOK_WORKER")]
    no_webhook_worker: bool,
    /// The role webhook tables are written as. Empty: the login's own.
    #[arg(long, env = "LABELMINT_API_HOOKS_DB_ROLE", default_value = DEFAULT_HOOKS_DB_ROLE)]
    hooks_db_role: String,
    /// No rate limits at all (a private deployment). To spare one integrator, or a benchmark's
    /// key, use --rate-limit-exempt-key instead.
    #[arg(long, env = "LABELMINT_API_RATE_LIMIT_OFF")]
    rate_limit_off: bool,
    /// Requests per second each API key or wallet session may make, sustained.
    #[arg(long, env = "LABELMINT_API_RATE_PER_CALLER", default_value_t = labelmint_api::ratelimit::DEFAULT_PER_CALLER.0)]
    rate_per_caller: u32,
    /// Requests each API key or wallet session may make at once after a quiet period.
    #[arg(long, env = "LABELMINT_API_BURST_PER_CALLER", default_value_t = labelmint_api::ratelimit::DEFAULT_PER_CALLER.1)]
    burst_per_caller: u32,
    /// Requests per second each client IP may make without a valid credential, sustained.
    #[arg(long, env = "LABELMINT_API_RATE_PER_IP", default_value_t = labelmint_api::ratelimit::DEFAULT_PER_IP.0)]
    rate_per_ip: u32,
    /// Requests each client IP may make at once without a valid credential.
    #[arg(long, env = "LABELMINT_API_BURST_PER_IP", default_value_t = labelmint_api::ratelimit::DEFAULT_PER_IP.1)]
    burst_per_ip: u32,
    /// An API key id (16 hex digits) that is never rate limited (repeat).
    #[arg(
        long = "rate-limit-exempt-key",
        env = "LABELMINT_API_RATE_LIMIT_EXEMPT_KEYS",
        value_delimiter = ','
    )]
    rate_limit_exempt_keys: Vec<String>,
    /// A reverse proxy's address or network (`10.0.0.1`, `10.0.0.0/8`; repeat) whose
    /// X-Forwarded-For is believed for the client IP. None: the header is ignored.
    #[arg(
        long = "trusted-proxy",
        env = "LABELMINT_API_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<String>,
    /// How long a verified API key or session is believed without a database lookup
    /// (milliseconds; 0: look up every request). Revocation reaches other replicas this late.
    #[arg(
        long,
        env = "LABELMINT_API_CREDENTIAL_CACHE_MS",
        default_value_t = 5_000
    )]
    credential_cache_ms: u64,
    /// Serve labeling: task sets, uploads, /v1/tasks/* (reservations, answers), and run the
    /// consensus passes that approve earnings (the engine's and labeling's migrations too).
    #[arg(long, env = "LABELMINT_API_LABELING")]
    labeling: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NetworkArg {
    Mainnet,
    Testnet,
    Devnet,
}

impl Args {
    fn database_url(&self) -> Result<String> {
        if let Some(path) = &self.database_url_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read --database-url-file {}", path.display()))?;
            let url = text.lines().next().unwrap_or("").trim().to_owned();
            if url.is_empty() {
                bail!("--database-url-file {}: the file is empty", path.display());
            }
            return Ok(url);
        }
        Ok(match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ => DEFAULT_DATABASE_URL.to_owned(),
        })
    }

    fn liteservers(&self) -> Result<Vec<labelmint_indexer::lite::LiteServer>> {
        let Some(path) = &self.global_config else {
            return Ok(Vec::new());
        };
        let json = std::fs::read_to_string(path)
            .with_context(|| format!("read --global-config {}", path.display()))?;
        labelmint_indexer::lite::parse_global_config(&json)
            .with_context(|| format!("--global-config {}", path.display()))
    }

    fn writes(&self) -> Result<Option<WriteConfig>> {
        match (&self.signer_public_key, &self.treasury) {
            (None, None) => Ok(None),
            (Some(key), Some(treasury)) => {
                let mut signer_key = [0u8; 32];
                hex::decode_to_slice(key.trim(), &mut signer_key)
                    .map_err(|_| anyhow::anyhow!("--signer-public-key: 64 hex digits expected"))?;
                let treasury = labelmint_abi::address::parse_any(treasury.trim())
                    .map_err(|e| anyhow::anyhow!("--treasury: {e}"))?;
                Ok(Some(WriteConfig {
                    signer_key,
                    treasury,
                    fee_bps: self.fee_bps,
                }))
            }
            _ => bail!(
                "--signer-public-key and --treasury go together (project creation needs both)"
            ),
        }
    }

    fn webhooks(&self) -> Result<WebhookConfig> {
        let key = match &self.webhook_key_file {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("read --webhook-key-file {}", path.display()))?;
                Some(SealKey::from_hex(&text).with_context(|| {
                    format!(
                        "--webhook-key-file {}: expected 64 hex digits (openssl rand -hex 32)",
                        path.display()
                    )
                })?)
            }
        };
        Ok(WebhookConfig {
            key,
            deliver: !self.no_webhook_worker,
            allow_private: self.webhooks_allow_private,
            ..WebhookConfig::default()
        })
    }

    fn rate_limits(&self) -> Result<RateLimits> {
        let per_caller = Rate::new(self.rate_per_caller, self.burst_per_caller)
            .context("--rate-per-caller and --burst-per-caller must be at least 1")?;
        let per_ip = Rate::new(self.rate_per_ip, self.burst_per_ip)
            .context("--rate-per-ip and --burst-per-ip must be at least 1")?;
        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .with_context(|| format!("--trusted-proxy {p}: not an IP address or network"))
            })
            .collect::<Result<Vec<_>>>()?;
        for k in &self.rate_limit_exempt_keys {
            if k.len() != 16 || !k.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!("--rate-limit-exempt-key {k}: a key id is 16 hex digits");
            }
        }
        Ok(RateLimits {
            enabled: !self.rate_limit_off,
            per_caller,
            per_ip,
            exempt_keys: self.rate_limit_exempt_keys.clone(),
            trusted_proxies,
            ..RateLimits::default()
        })
    }

    fn into_config(self) -> Result<Config> {
        let network = match self.network {
            NetworkArg::Mainnet => Network::Mainnet,
            NetworkArg::Testnet => Network::Testnet,
            NetworkArg::Devnet => Network::Devnet,
        };
        let mut proof = ProofConfig::new(self.ton_proof_domains.clone(), network.global_id());
        proof.payload_ttl = Duration::from_secs(self.ton_proof_ttl);
        proof.max_age = Duration::from_secs(self.ton_proof_ttl);
        proof.max_skew = Duration::from_secs(self.ton_proof_skew);
        proof.session_ttl = Duration::from_secs(self.session_ttl);
        let liteservers = self.liteservers()?;
        let writes = self.writes()?;
        let webhooks = self.webhooks()?;
        let rate_limits = self.rate_limits()?;
        Ok(Config {
            rate_limits,
            credential_cache_ttl: Duration::from_millis(self.credential_cache_ms),
            labeling: self.labeling,
            write_db_role: Some(self.write_db_role.clone()).filter(|r| !r.is_empty()),
            writes,
            webhooks,
            hooks_db_role: Some(self.hooks_db_role.clone()).filter(|r| !r.is_empty()),
            auth_db_role: Some(self.auth_db_role.clone()).filter(|r| !r.is_empty()),
            proof,
            liteservers,
            metrics_public: self.metrics_public,
            database_url: self.database_url()?,
            listen: self.listen,
            db_role: Some(self.db_role).filter(|r| !r.is_empty()),
            migrate: !self.skip_migrations,
            network,
            max_indexer_lag: Duration::from_secs(self.max_indexer_lag),
            cors_origins: self.cors_origins,
            max_connections: self.db_connections,
            acquire_timeout: Duration::from_secs(3),
            streams: labelmint_api::streams::StreamConfig::default(),
        })
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Args::parse().into_config()?;
    let handle = labelmint_api::spawn(config)
        .await
        .context("start labelmint-api")?;
    eprintln!(
        "labelmint-api on http://{0} (docs: http://{0}/docs)",
        handle.addr()
    );
    tokio::select! {
        r = tokio::signal::ctrl_c() => {
            r.context("wait for Ctrl-C")?;
        }
    }
    handle.shutdown().await.context("shut down")?;
    Ok(())
}
