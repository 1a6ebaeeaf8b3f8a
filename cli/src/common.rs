//! What every database subcommand shares: the configuration (database URL), connecting with a
//! short timeout and a masked URL in errors, output options (JSON, tables, units, address
//! forms, colour) and exit codes.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use clap::{Args, ValueEnum};
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};
use labelmint_ledger::{Ledger, RawAddress};
use sqlx::Connection as _;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};

/// The database `make up` writes (`stack::database::DEFAULT_DATABASE` on the private cluster of
/// `scripts/pg.sh`); `./scripts/pg.sh url` prints the same URL. The password is the private
/// cluster's fixed local one (127.0.0.1 only), not a secret.
pub(crate) const DEFAULT_DATABASE_URL: &str =
    "postgres://labelmint:labelmint@127.0.0.1:54329/labelmint_up";

/// How long connecting may take before the command gives up naming the URL.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

/// Options every database subcommand takes (global: they may follow the subcommand).
#[derive(Debug, Args, Clone)]
pub(crate) struct Global {
    /// A file holding the Postgres URL (first line), like the services take it; overrides
    /// DATABASE_URL. Default: DATABASE_URL, else the database `make up` writes
    /// (postgres://labelmint:***@127.0.0.1:54329/labelmint_up).
    #[arg(
        long,
        global = true,
        env = "LABELMINT_DATABASE_URL_FILE",
        value_name = "PATH"
    )]
    database_url_file: Option<PathBuf>,
    /// Print JSON for scripts (amounts as decimal strings in base units, with decimals and
    /// currency; raw addresses).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print amounts in base units (nanoTON, jetton base units) instead of TON / USD.
    #[arg(long, global = true)]
    pub(crate) raw: bool,
    /// Print addresses in raw form (`0:<64 hex>`) instead of the user-friendly form.
    #[arg(long, global = true)]
    pub(crate) raw_addresses: bool,
    /// The network the addresses belong to: sets the user-friendly form's testnet flag
    /// (on for testnet and devnet, off for mainnet).
    #[arg(
        long,
        global = true,
        env = "LABELMINT_NETWORK",
        value_enum,
        default_value_t = Network::Devnet
    )]
    pub(crate) network: Network,
}

/// The network of the addresses shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Network {
    /// TON mainnet (global id -239): testnet flag off.
    Mainnet,
    /// TON testnet (global id -3): testnet flag on.
    Testnet,
    /// The local devnet (global id 2026): testnet flag on (its coins are worthless).
    Devnet,
}

/// An error the user made in the arguments (exit code 2), beyond what clap checks itself.
#[derive(Debug)]
pub(crate) struct UsageError(pub(crate) String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// 2 for a [`UsageError`], 1 otherwise.
pub(crate) fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() {
        2
    } else {
        1
    }
}

/// Runs an async subcommand on a small runtime.
pub(crate) fn block_on<F: Future<Output = Result<()>>>(f: F) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    rt.block_on(f)
}

impl Global {
    /// The database URL: `--database-url-file`, else `DATABASE_URL`, else the `make up` one.
    pub(crate) fn database_url(&self) -> Result<String> {
        if let Some(path) = &self.database_url_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!(
                    "--database-url-file {}: cannot read it: {e}",
                    path.display()
                ))
            })?;
            let url = text.lines().next().unwrap_or("").trim().to_owned();
            if url.is_empty() {
                return Err(UsageError(format!(
                    "--database-url-file {}: the file is empty (expected a postgres:// URL)",
                    path.display()
                ))
                .into());
            }
            return Ok(url);
        }
        match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(url.trim().to_owned()),
            _ => Ok(DEFAULT_DATABASE_URL.to_owned()),
        }
    }

    /// Connects to the ledger's database, failing within [`CONNECT_TIMEOUT`] (plus a little)
    /// with a message naming the URL (password masked).
    pub(crate) async fn ledger(&self) -> Result<Ledger> {
        let url = self.database_url()?;
        let masked = mask_url(&url);
        let opts = PgConnectOptions::from_str(&url).map_err(|e| {
            UsageError(format!(
                "the database URL {masked} is not a postgres:// URL: {e}"
            ))
        })?;
        // One direct connection first: a pool retries a refused connection until its timeout,
        // a single attempt fails at once with the real reason.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts)).await;
        match probe {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
            Ok(Err(e)) => {
                return Err(anyhow!(
                    "cannot reach Postgres at {masked}: {}; is `make up` running?",
                    connect_reason(&e)
                ));
            }
            Err(_) => {
                return Err(anyhow!(
                    "cannot reach Postgres at {masked}: no answer within {} s; is `make up` running?",
                    CONNECT_TIMEOUT.as_secs()
                ));
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(opts);
        let has_ledger: bool =
            sqlx::query_scalar("SELECT to_regclass('ledger_batches') IS NOT NULL")
                .fetch_one(&pool)
                .await
                .with_context(|| format!("query Postgres at {masked}"))?;
        if !has_ledger {
            return Err(anyhow!(
                "the database at {masked} has no ledger tables: point DATABASE_URL at the \
                 database the services write (`make up` writes labelmint_up)"
            ));
        }
        Ok(Ledger::from_pool(pool))
    }

    /// How to print.
    pub(crate) fn out(&self) -> Out {
        let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal();
        Out {
            raw: self.raw,
            raw_addresses: self.raw_addresses,
            testnet: self.network != Network::Mainnet,
            color,
        }
    }
}

/// Why connecting failed, in a few words (never the URL: the caller names it masked).
fn connect_reason(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::TimedOut => "timed out".to_owned(),
            _ => io.to_string(),
        },
        sqlx::Error::PoolTimedOut => format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
        sqlx::Error::Database(db) => db.message().to_owned(),
        other => other.to_string(),
    }
}

/// The URL with its password replaced by `***` (and its query string dropped).
pub(crate) fn mask_url(url: &str) -> String {
    match PgConnectOptions::from_str(url) {
        Ok(o) => {
            let pass = if url_has_password(url) { ":***" } else { "" };
            format!(
                "postgres://{}{pass}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or("")
            )
        }
        Err(_) => "<unparsable database URL>".to_owned(),
    }
}

/// Whether `scheme://user:password@...` carries a password.
fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.split_once('@') {
        Some((userinfo, _)) => userinfo.contains(':'),
        None => false,
    }
}

/// What kind of account an address is: wallets are shown non-bounceable (`UQ`/`0Q`),
/// contracts bounceable (`EQ`/`kQ`), as TON wallets expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AddrKind {
    /// A person's wallet (worker, client).
    Wallet,
    /// A contract (escrow, vault, jetton master).
    Contract,
}

/// How to print.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Out {
    raw: bool,
    raw_addresses: bool,
    testnet: bool,
    pub(crate) color: bool,
}

impl Out {
    /// An amount with its unit: `12.5 TON`; with `--raw` the base units: `12500000000 ×10⁻⁹ TON`.
    pub(crate) fn amount(&self, v: i128, cur: &Cur) -> String {
        if self.raw {
            format!("{v} ×10⁻{} {}", superscript(cur.decimals), cur.code)
        } else {
            format!("{} {}", decimal(v, cur.decimals), cur.code)
        }
    }

    /// An address in the user-friendly form (or raw with `--raw-addresses`).
    pub(crate) fn addr(&self, raw: &str, kind: AddrKind) -> String {
        if self.raw_addresses {
            return raw.to_owned();
        }
        friendly(raw, kind == AddrKind::Contract, self.testnet).unwrap_or_else(|| raw.to_owned())
    }

    /// Whether user-friendly addresses carry the testnet flag.
    pub(crate) fn testnet(&self) -> bool {
        self.testnet
    }

    /// A table in the house layout (no colour unless allowed).
    pub(crate) fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        t.load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.iter().map(|h| Cell::new(h.to_uppercase())));
        if !self.color {
            t.force_no_tty();
        }
        t
    }

    /// A two-column "name: value" table without a header.
    pub(crate) fn kv_table(&self, rows: Vec<(&str, String)>) -> Table {
        let mut t = Table::new();
        t.load_preset(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled);
        if !self.color {
            t.force_no_tty();
        }
        for (k, v) in rows {
            t.add_row(vec![format!("{k}:"), v]);
        }
        t
    }

    /// A state cell: green when done, red when it came back or failed, yellow in flight.
    pub(crate) fn state_cell(&self, state: &str) -> Cell {
        let c = Cell::new(state);
        if !self.color {
            return c;
        }
        match state {
            "confirmed" | "paid" | "ok" | "active" => c.fg(Color::Green),
            "bounced" | "expired" | "MISMATCH" | "revoked" | "low" => c.fg(Color::Red),
            _ => c.fg(Color::Yellow),
        }
    }
}

/// `v / 10^decimals` in decimal, trailing zeros trimmed: `12.5`, `0.000000001`, `-3`.
pub(crate) fn decimal(v: i128, decimals: u8) -> String {
    let neg = v < 0;
    let mag = v.unsigned_abs();
    let digits = mag.to_string();
    let d = usize::from(decimals);
    let (int, frac) = if digits.len() > d {
        let (i, f) = digits.split_at(digits.len() - d);
        (i.to_owned(), f.to_owned())
    } else {
        ("0".to_owned(), format!("{digits:0>d$}"))
    };
    let frac = frac.trim_end_matches('0');
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&int);
    if !frac.is_empty() {
        let _ = write!(s, ".{frac}");
    }
    s
}

fn superscript(n: u8) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    n.to_string()
        .bytes()
        .map(|b| DIGITS[usize::from(b - b'0')])
        .collect()
}

/// The user-friendly form of a raw address (labelmint-abi's one implementation, shared with
/// the API): `friendly(raw, bounceable, testnet)`.
pub(crate) use labelmint_abi::address::friendly_raw as friendly;

/// An address argument: raw (`0:<64 hex>`) or user-friendly (either base64 alphabet).
pub(crate) fn parse_address(s: &str) -> std::result::Result<RawAddress, String> {
    let std = labelmint_abi::address::parse_any(s).map_err(|e| {
        format!("{s:?} is not a TON address (raw 0:<64 hex> or user-friendly base64): {e}")
    })?;
    Ok(RawAddress::from_parts(
        std.workchain,
        std.address.as_array(),
    ))
}

/// A currency's code and decimals, for amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cur {
    /// `TON`, `USD`, ...
    pub(crate) code: String,
    /// Decimals of the base unit.
    pub(crate) decimals: u8,
}

/// Every registered currency's decimals.
pub(crate) async fn currencies(ledger: &Ledger) -> Result<std::collections::BTreeMap<String, Cur>> {
    let rows: Vec<(String, i16)> =
        sqlx::query_as("SELECT code, decimals FROM ledger_currencies ORDER BY code")
            .fetch_all(ledger.pool())
            .await
            .context("read ledger_currencies")?;
    Ok(rows
        .into_iter()
        .map(|(code, d)| {
            let decimals = u8::try_from(d).unwrap_or(0);
            (code.clone(), Cur { code, decimals })
        })
        .collect())
}

/// The currency `code` from `all`, or a failure naming it.
pub(crate) fn cur<'a>(
    all: &'a std::collections::BTreeMap<String, Cur>,
    code: &str,
) -> Result<&'a Cur> {
    all.get(code)
        .ok_or_else(|| anyhow!("currency {code} is not registered in the ledger"))
}

/// Unix seconds as RFC 3339 UTC (`2026-12-02T18:47:03Z`).
pub(crate) fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Unix seconds now (0 if the clock is before 1970).
pub(crate) fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// Prints a JSON value to stdout.
pub(crate) fn print_json(v: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Parses a base-unit decimal string from Postgres (`NUMERIC::text`).
pub(crate) fn num(s: &str) -> Result<i128> {
    s.parse::<i128>()
        .map_err(|_| anyhow!("not an integer amount in the database: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_trim_and_pad() {
        assert_eq!(decimal(12_500_000_000, 9), "12.5");
        assert_eq!(decimal(1, 9), "0.000000001");
        assert_eq!(decimal(3_250_000, 6), "3.25");
        assert_eq!(decimal(-7_000_000, 6), "-7");
        assert_eq!(decimal(0, 9), "0");
        assert_eq!(decimal(42, 0), "42");
    }

    #[test]
    fn addresses_parse_in_both_forms() {
        // The forms themselves are tested in labelmint-abi (address.rs).
        let zero = format!("0:{}", "0".repeat(64));
        let t = friendly(&zero, false, true).expect("testnet");
        assert!(t.starts_with("0Q"), "{t}");
        assert_eq!(parse_address(&t).expect("parse").as_str(), zero);
        assert_eq!(parse_address(&zero).expect("parse").as_str(), zero);
        assert!(parse_address("0:zz").is_err());
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_url("postgres://labelmint:secret@127.0.0.1:54329/labelmint_up?sslmode=disable"),
            "postgres://labelmint:***@127.0.0.1:54329/labelmint_up"
        );
        assert_eq!(
            mask_url("postgres://bob@db.example:5432/x"),
            "postgres://bob@db.example:5432/x"
        );
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_790_000_000), "2026-09-21T14:13:20Z");
    }
}
