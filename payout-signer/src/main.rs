//! `payout-signer`: the LabelMint payout signer (see the crate docs and README.md).
//!
//! Exit codes: 0 ok, 1 error (an audit log that fails verification included), 3 another
//! signer instance holds the lock.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use labelmint_payout_signer::cli::{AuditAction, Cli, Command};
use labelmint_payout_signer::ledger::PgLedger;
use labelmint_payout_signer::{Error, audit, service, store};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("payout-signer: {e:#}");
            match e.downcast_ref::<Error>() {
                Some(Error::LockHeld { .. }) => ExitCode::from(3),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let config = args.config()?;
            let key = args.open_key()?;
            // The ledger is read under the signer's database role too.
            let ledger = labelmint_ledger::Ledger::from_pool(
                store::connect_as(&config.database_url, 4, config.db_role.as_deref()).await?,
            );
            let handle = service::spawn(config, key, Arc::new(PgLedger::new(ledger))).await?;
            println!("public_key={}", hex::encode(handle.signer.public_key()));
            println!("backend={}", handle.signer.backend_kind());
            match (&handle.addr, &handle.unix) {
                (Some(a), _) => println!("listening=http://{a}"),
                (_, Some(p)) => println!("listening=unix:{}", p.display()),
                _ => {}
            }
            tracing::info!(
                public_key = %hex::encode(handle.signer.public_key()),
                "payout-signer is serving"
            );
            tokio::select! {
                r = tokio::signal::ctrl_c() => {
                    r?;
                    handle.stop().await?;
                }
            }
            Ok(())
        }
        Command::Register(args) => {
            let pool = store::connect(&args.db.database_url()?, 2).await?;
            store::migrate(&pool).await?;
            store::register(&pool, &args.registration()?).await?;
            println!("registered");
            Ok(())
        }
        Command::Freeze { db, reason } => {
            let pool = store::connect(&db.database_url()?, 2).await?;
            store::migrate(&pool).await?;
            store::set_frozen(&pool, Some(&reason)).await?;
            println!("frozen");
            Ok(())
        }
        Command::Unfreeze { db } => {
            let pool = store::connect(&db.database_url()?, 2).await?;
            store::migrate(&pool).await?;
            store::set_frozen(&pool, None).await?;
            println!("unfrozen");
            Ok(())
        }
        Command::Migrate { db } => {
            let pool = store::connect(&db.database_url()?, 1).await?;
            store::migrate(&pool).await?;
            println!("migrated");
            Ok(())
        }
        Command::Audit {
            db,
            action: AuditAction::Verify,
        } => {
            let pool = store::connect(&db.database_url()?, 2).await?;
            let mut conn = pool.acquire().await?;
            let v = audit::verify(&mut conn).await?;
            println!("audit log ok: {} records, head {}", v.records, v.head);
            Ok(())
        }
        Command::Key(cmd) => {
            let out = cmd.run()?;
            println!("{out}");
            Ok(())
        }
    }
}
