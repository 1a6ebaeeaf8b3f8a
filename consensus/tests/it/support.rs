//! One real Postgres database per test (ledger and consensus migrations applied), dropped
//! after the test, and a registered TON project in the ledger.

use std::process::Command;
use std::sync::OnceLock;

use labelmint_consensus::{Engine, Store};
use labelmint_ledger::{Currency, CurrencyCode, Ledger, Project, ProjectId, RawAddress, Vault};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// DATABASE_URL, or the private cluster of scripts/pg.sh (started if needed: idempotent).
pub(crate) fn database_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg.sh");
        let out = Command::new("bash")
            .arg(script)
            .output()
            .expect("run scripts/pg.sh");
        assert!(
            out.status.success(),
            "scripts/pg.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("DATABASE_URL="))
            .next_back()
            .expect("scripts/pg.sh prints DATABASE_URL")
            .to_owned()
    })
    .clone()
}

/// A fresh database with both crates' migrations, dropped on drop.
pub(crate) struct TestDb {
    pub(crate) store: Store,
    pub(crate) ledger: Ledger,
    name: String,
    admin: String,
}

/// The ledger project every engine test pays from.
pub(crate) const PROJECT: u64 = 7;

pub(crate) fn address(byte: u8) -> String {
    format!("0:{}", hex::encode([byte; 32]))
}

impl TestDb {
    pub(crate) async fn new() -> TestDb {
        let admin = database_url();
        let name = format!("labelmint_cons_{:016x}", rand::random::<u64>());
        let mut conn = PgConnection::connect(&admin).await.expect("connect admin");
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.ok();
        let opts = admin
            .parse::<PgConnectOptions>()
            .expect("url")
            .database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await
            .expect("connect test database");
        let ledger = Ledger::from_pool(pool.clone());
        ledger.migrate().await.expect("ledger migrations");
        let store = Store::from_pool(pool);
        store.migrate().await.expect("consensus migrations");
        // Running the migrations again is a no-op (each crate has its own history table).
        store.migrate().await.expect("consensus migrations again");
        let ton = CurrencyCode::ton();
        ledger
            .register_currency(&Currency {
                code: ton.clone(),
                decimals: 9,
                jetton_master: None,
            })
            .await
            .expect("currency");
        ledger
            .register_project(&Project {
                id: ProjectId(PROJECT),
                escrow: RawAddress::parse(&address(0xE5)).expect("escrow"),
                currency: ton.clone(),
                client: RawAddress::parse(&address(0xC1)).expect("client"),
            })
            .await
            .expect("project");
        ledger
            .register_vault(&Vault {
                currency: ton,
                address: RawAddress::parse(&address(0x7A)).expect("vault"),
            })
            .await
            .expect("vault");
        TestDb {
            store,
            ledger,
            name,
            admin,
        }
    }

    pub(crate) fn engine(&self) -> Engine {
        Engine::new(self.store.clone(), self.ledger.clone())
    }

    pub(crate) async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
            .fetch_one(self.store.pool())
            .await
            .expect("count")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (name, admin) = (self.name.clone(), self.admin.clone());
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let _ = sqlx::query(AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await;
                }
            });
        })
        .join();
    }
}
