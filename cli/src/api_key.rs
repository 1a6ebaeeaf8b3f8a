//! `labelmint api-key create|list|rotate|revoke`: integrators' API keys for labelmint-api,
//! through the API crate's own functions (`labelmint_api::auth::keys`) on the operator's
//! database login. The key text is printed once, to stdout, by `create` and `rotate`, and is
//! never logged or stored (the table holds its SHA-256); it is never taken as an argument.

use anyhow::{Result, anyhow};
use clap::{Subcommand, ValueEnum};
use labelmint_api::auth::keys::{self, Issued, KeyError, KeyInfo, Scope};
use labelmint_ledger::RawAddress;
use serde_json::{Value, json};

use crate::common::{Global, Out, UsageError, parse_address, print_json};

/// API key subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Makes a key and prints it once (keep it: only its hash is stored).
    #[command(
        after_help = "Examples:\n  labelmint api-key create --scope read --label \"dashboard\"\n  \
                            labelmint api-key create --scope client --client 0QBvK0...Zk --label \"acme\" --json\n  \
                            labelmint api-key create --scope admin --label \"ops laptop\""
    )]
    Create {
        /// What the key may do: read (every read route), client (one client's projects),
        /// admin (every read route and key management).
        #[arg(long, value_enum)]
        scope: ScopeArg,
        /// What it is for (shown by `list`).
        #[arg(long)]
        label: String,
        /// A client key's wallet (user-friendly or raw 0:<64 hex>).
        #[arg(long, value_parser = parse_address)]
        client: Option<RawAddress>,
    },
    /// Every key (never a secret), newest first; revoked ones marked.
    #[command(after_help = "Example:\n  labelmint api-key list --json")]
    List,
    /// A new secret for a key (same id and scope); the old text stops working at once.
    #[command(after_help = "Example:\n  labelmint api-key rotate 3f9c0a12b7d4e581")]
    Rotate {
        /// The key id (16 hex digits: the part after `lmk_`).
        key_id: String,
    },
    /// Revokes a key: it stops working at once.
    #[command(after_help = "Example:\n  labelmint api-key revoke 3f9c0a12b7d4e581")]
    Revoke {
        /// The key id (16 hex digits: the part after `lmk_`).
        key_id: String,
    },
}

/// A key's scope.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum ScopeArg {
    Read,
    Client,
    Admin,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Scope {
        match s {
            ScopeArg::Read => Scope::Read,
            ScopeArg::Client => Scope::Client,
            ScopeArg::Admin => Scope::Admin,
        }
    }
}

fn key_id(s: &str) -> Result<&str> {
    if s.len() == 16
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    {
        Ok(s)
    } else {
        Err(UsageError(format!(
            "key id {:?}: expected 16 lowercase hex digits (the part after `lmk_` of a key; see `labelmint api-key list`)",
            s.chars().take(40).collect::<String>()
        ))
        .into())
    }
}

fn key_error(e: KeyError) -> anyhow::Error {
    match e {
        KeyError::NotFound { key_id } => {
            anyhow!("no live API key {key_id}; `labelmint api-key list` shows them")
        }
        KeyError::Invalid(reason) => UsageError(reason).into(),
        KeyError::Database(e) => anyhow!("database: {e}"),
    }
}

pub(crate) async fn run(g: Global, cmd: Command) -> Result<()> {
    let ledger = g.ledger().await?;
    let pool = ledger.pool();
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('api_keys') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    if !has_table {
        return Err(anyhow!(
            "the database has no api_keys table: start labelmint-api once on it (it applies \
             its migrations), then run this again"
        ));
    }
    let out = g.out();
    match cmd {
        Command::Create {
            scope,
            label,
            client,
        } => {
            let client = client.as_ref().map(RawAddress::as_str);
            let i = keys::create(pool, scope.into(), client, &label)
                .await
                .map_err(key_error)?;
            print_issued(&g, &out, &i)
        }
        Command::List => {
            let list = keys::list(pool).await.map_err(key_error)?;
            if g.json {
                return print_json(&Value::Array(list.iter().map(info_json).collect()));
            }
            let mut t = out.table(&["key id", "scope", "client", "label", "created", "state"]);
            for k in &list {
                t.add_row(vec![
                    k.key_id.clone(),
                    k.scope.clone(),
                    k.client.clone().unwrap_or_else(|| "-".into()),
                    k.label.clone(),
                    k.created_at.clone(),
                    state(k),
                ]);
            }
            println!("{t}");
            Ok(())
        }
        Command::Rotate { key_id: id } => {
            let i = keys::rotate(pool, key_id(&id)?).await.map_err(key_error)?;
            print_issued(&g, &out, &i)
        }
        Command::Revoke { key_id: id } => {
            let k = keys::revoke(pool, key_id(&id)?).await.map_err(key_error)?;
            if g.json {
                return print_json(&info_json(&k));
            }
            println!("revoked {} ({}, {})", k.key_id, k.scope, k.label);
            Ok(())
        }
    }
}

fn state(k: &KeyInfo) -> String {
    match (&k.revoked_at, &k.rotated_at) {
        (Some(at), _) => format!("revoked {at}"),
        (None, Some(at)) => format!("live (rotated {at})"),
        (None, None) => "live".into(),
    }
}

fn info_json(k: &KeyInfo) -> Value {
    json!({
        "key_id": k.key_id,
        "scope": k.scope,
        "client": k.client,
        "label": k.label,
        "created_at": k.created_at,
        "rotated_at": k.rotated_at,
        "revoked_at": k.revoked_at,
    })
}

fn print_issued(g: &Global, out: &Out, i: &Issued) -> Result<()> {
    if g.json {
        let mut v = info_json(&i.info);
        v["key"] = Value::String(i.key.expose().to_owned());
        return print_json(&v);
    }
    let t = out.kv_table(vec![
        ("key id", i.info.key_id.clone()),
        ("scope", i.info.scope.clone()),
        (
            "client",
            i.info.client.clone().unwrap_or_else(|| "-".into()),
        ),
        ("label", i.info.label.clone()),
    ]);
    println!("{t}");
    println!("key: {}", i.key.expose());
    eprintln!(
        "This is the only time the key is shown: only its hash is stored. Send it as \
         `Authorization: Bearer <key>`."
    );
    Ok(())
}
