//! The command line: flags and env vars, converted into library config ([`crate::Config`]).

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use labelmint_keys::{BackendArgs, FileKey, KdfParams, KeyBackendKind, KeyCommand};

use crate::config::{Config, Limits, Listen, Token};
use crate::error::{Error, Result};
use crate::key::KeyBackend;
use crate::store::Registration;
use crate::wire::parse_address;

/// Env var: the bearer token (or `--token-file`).
pub const ENV_TOKEN: &str = "LABELMINT_SIGNER_TOKEN";
/// Env var, TEST ONLY: pause between the journal commit and the reply, milliseconds.
pub const ENV_TEST_PAUSE: &str = "LABELMINT_SIGNER_TEST_PAUSE_AFTER_JOURNAL_MS";

/// `payout-signer`: the LabelMint payout signer.
#[derive(Debug, Parser)]
#[command(name = "payout-signer", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Env var: the Postgres URL (it holds the password: read from the environment, never a flag).
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";

/// Where every command finds its database. The URL holds a password, so it is never a flag
/// (a command line shows in `ps` and `/proc/<pid>/cmdline`): it comes from `DATABASE_URL` or
/// from a file only its owner may read.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// A file holding the Postgres URL (mode 0600; wins over DATABASE_URL).
    #[arg(long, env = "LABELMINT_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,
    /// Refused: a URL on the command line shows its password to every user of the machine.
    #[arg(long = "database-url", hide = true, value_name = "REFUSED")]
    pub database_url_on_command_line: Option<String>,
}

impl DbArgs {
    /// The Postgres URL: `--database-url-file` (checked: mode 0600) or `DATABASE_URL`.
    pub fn database_url(&self) -> Result<String> {
        if self.database_url_on_command_line.is_some() {
            return Err(Error::Config(format!(
                "--database-url is refused: a password on the command line is visible to every user (ps, /proc/<pid>/cmdline); set {ENV_DATABASE_URL} or use --database-url-file"
            )));
        }
        match &self.database_url_file {
            Some(path) => read_secret_file(path, "database URL file"),
            None => std::env::var(ENV_DATABASE_URL)
                .map(|u| u.trim().to_string())
                .ok()
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "no database: set {ENV_DATABASE_URL} or give --database-url-file"
                    ))
                }),
        }
    }
}

/// Reads a secret file (token, database URL) after checking that only its owner may access it.
pub fn read_secret_file(path: &std::path::Path, what: &str) -> Result<String> {
    labelmint_keys::check_owner_only(path).map_err(|e| Error::Config(format!("{what}: {e}")))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Config(format!("{what} {}: {e}", path.display())))?;
    Ok(text.trim().to_string())
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the signer service.
    Serve(Box<ServeArgs>),
    /// Add an escrow or a vault to the allowlist.
    Register(RegisterArgs),
    /// Stop all signing (every request is refused by rule `freeze`).
    Freeze {
        /// Database.
        #[command(flatten)]
        db: DbArgs,
        /// Why (recorded in the audit log).
        #[arg(long, default_value = "frozen by operator")]
        reason: String,
    },
    /// Resume signing.
    Unfreeze {
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// Apply the signer's migrations (run by the database owner when the signer's own login
    /// may not run DDL; `serve --skip-migrations` then does not migrate).
    Migrate {
        /// Database.
        #[command(flatten)]
        db: DbArgs,
    },
    /// The audit log.
    Audit {
        /// Database.
        #[command(flatten)]
        db: DbArgs,
        /// What to do with it.
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Key management (keygen, import, pubkey).
    #[command(flatten)]
    Key(KeyCommand),
}

/// `audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain; exit 1 naming the first bad record.
    Verify,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
    /// `127.0.0.1:PORT`, `[::1]:PORT` or `unix:/path` (other interfaces are refused).
    #[arg(
        long,
        env = "LABELMINT_SIGNER_LISTEN",
        default_value = "127.0.0.1:7420"
    )]
    pub listen: String,
    /// A file holding the bearer token (mode 0600; wins over LABELMINT_SIGNER_TOKEN).
    #[arg(long, env = "LABELMINT_SIGNER_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// The database role every signing connection runs as (SET ROLE at connect; the login
    /// must be a member of it).
    #[arg(long, env = "LABELMINT_SIGNER_DB_ROLE", default_value = crate::config::DEFAULT_DB_ROLE)]
    pub db_role: String,
    /// Do not apply the signer's migrations at start (the login may not run DDL; run
    /// `payout-signer migrate` as the database owner).
    #[arg(long, env = "LABELMINT_SIGNER_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
    /// The key backend.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// File backend: create the key file (a new random key) when it does not exist yet.
    #[arg(long, env = "LABELMINT_SIGNER_CREATE_KEY_IF_MISSING")]
    pub create_key_if_missing: bool,
    /// Maximum TTL of a signed request, seconds.
    #[arg(long, env = "LABELMINT_SIGNER_MAX_TTL", default_value_t = crate::config::DEFAULT_MAX_TTL)]
    pub max_ttl: u32,
    /// Items per batch.
    #[arg(long, env = "LABELMINT_SIGNER_MAX_BATCH_ITEMS", default_value_t = crate::config::DEFAULT_MAX_BATCH_ITEMS)]
    pub max_batch_items: usize,
    /// Cap overrides `CURRENCY:KIND=AMOUNT` (KIND: batch, hour, day, worker_day; base units),
    /// repeatable or comma-separated.
    #[arg(long = "cap", env = "LABELMINT_SIGNER_CAPS", value_delimiter = ',')]
    pub caps: Vec<String>,
    /// Jetton batches' TON side `KIND=AMOUNT` (nanoTON; KIND: max_attach, max_forward_ton,
    /// item_fee, batch_fee, hour, day), repeatable or comma-separated.
    #[arg(long = "float", env = "LABELMINT_SIGNER_FLOAT", value_delimiter = ',')]
    pub float: Vec<String>,
    /// Postgres pool size.
    #[arg(long, env = "LABELMINT_SIGNER_MAX_CONNECTIONS", default_value_t = 8)]
    pub max_connections: u32,
    /// The network's global id (config param 19) bound into every release, close and vault
    /// batch request: 2026 the LabelMint devnet, -239 mainnet, -3 testnet.
    #[arg(
        long,
        env = "LABELMINT_GLOBAL_ID",
        default_value_t = crate::config::DEFAULT_GLOBAL_ID,
        allow_hyphen_values = true
    )]
    pub global_id: i32,
}

/// `register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Database.
    #[command(flatten)]
    pub db: DbArgs,
    /// An escrow address (with --project).
    #[arg(long, conflicts_with = "vault", required_unless_present = "vault")]
    pub escrow: Option<String>,
    /// The escrow's project id.
    #[arg(long, requires = "escrow")]
    pub project: Option<u64>,
    /// A vault address (with --currency and --timeout).
    #[arg(long)]
    pub vault: Option<String>,
    /// The vault's currency (TON, USD, ...).
    #[arg(long, requires = "vault")]
    pub currency: Option<String>,
    /// The vault's replay timeout, seconds (its deploy config).
    #[arg(long, requires = "vault", default_value_t = 3600)]
    pub timeout: u32,
    /// The vault's on-chain rolling window limit (base units): the signer's caps must stay
    /// below it.
    #[arg(long, requires = "vault")]
    pub onchain_limit: Option<u128>,
}

impl RegisterArgs {
    /// The registration.
    pub fn registration(&self) -> Result<Registration> {
        match (&self.escrow, &self.vault) {
            (Some(e), None) => Ok(Registration::Escrow {
                address: parse_address("--escrow", e)?,
                project_id: self
                    .project
                    .ok_or_else(|| Error::Config("--escrow needs --project".into()))?,
            }),
            (None, Some(v)) => Ok(Registration::Vault {
                address: parse_address("--vault", v)?,
                currency: self
                    .currency
                    .clone()
                    .ok_or_else(|| Error::Config("--vault needs --currency".into()))?,
                timeout: self.timeout,
                onchain_limit: self.onchain_limit,
            }),
            _ => Err(Error::Config("give --escrow or --vault".into())),
        }
    }
}

impl ServeArgs {
    /// The service config (reads the token).
    pub fn config(&self) -> Result<Config> {
        let listen: Listen = self.listen.parse()?;
        if let Listen::Tcp(a) = &listen
            && !a.ip().is_loopback()
        {
            return Err(Error::Config(format!(
                "--listen {a}: the signer listens on loopback or a unix socket only"
            )));
        }
        let token = match &self.token_file {
            Some(p) => Token::new(read_secret_file(p, "token file")?)?,
            None => Token::new(
                std::env::var(ENV_TOKEN)
                    .map_err(|_| Error::Config(format!("give --token-file or {ENV_TOKEN}")))?,
            )?,
        };
        let mut limits = Limits {
            max_ttl: self.max_ttl,
            max_batch_items: self.max_batch_items,
            ..Limits::default()
        };
        for spec in &self.caps {
            limits.apply_cap(spec)?;
        }
        for spec in &self.float {
            limits.float.apply(spec)?;
        }
        let test_pause_after_journal = match std::env::var(ENV_TEST_PAUSE) {
            Ok(ms) => Some(std::time::Duration::from_millis(ms.parse().map_err(
                |_| Error::Config(format!("{ENV_TEST_PAUSE}={ms:?}: expected milliseconds")),
            )?)),
            Err(_) => None,
        };
        Ok(Config {
            database_url: self.db.database_url()?,
            db_role: Some(self.db_role.clone()),
            migrate: !self.skip_migrations,
            listen,
            token,
            limits,
            global_id: self.global_id,
            max_connections: self.max_connections,
            http: crate::config::HttpLimits::default(),
            test_pause_after_journal,
        })
    }

    /// Opens the key backend, creating the key file first if asked and absent.
    pub fn open_key(&self) -> Result<Arc<dyn KeyBackend>> {
        let kerr = |e: labelmint_keys::KeyError| Error::Key(e.to_string());
        // Secret files only their owner may read (the key file itself is checked when opened).
        for file in [&self.backend.passphrase_file, &self.backend.pkcs11_pin_file]
            .into_iter()
            .flatten()
        {
            labelmint_keys::check_owner_only(file).map_err(kerr)?;
        }
        if self.create_key_if_missing && self.backend.key_backend == KeyBackendKind::File {
            let path = self.backend.key_file().map_err(kerr)?;
            if !path.exists() {
                let pass = self.backend.passphrase().map_err(kerr)?;
                FileKey::generate(path, &pass, KdfParams::default()).map_err(kerr)?;
                tracing::info!(path = %path.display(), "created a new key file");
            }
        }
        let config = self.backend.resolve().map_err(kerr)?;
        labelmint_keys::open_backend(&config).map_err(kerr)
    }
}
