//! One real Postgres database per test (ledger and consensus migrations applied), dropped
//! after the test, and a registered TON project in the ledger.

use labelmint_consensus::{Engine, Store};
use labelmint_ledger::{Currency, CurrencyCode, Ledger, Project, ProjectId, RawAddress, Vault};
use labelmint_testdb::ScratchDb;
use sqlx::AssertSqlSafe;

/// A fresh database with both crates' migrations, dropped on drop.
pub(crate) struct TestDb {
    pub(crate) store: Store,
    pub(crate) ledger: Ledger,
    _db: ScratchDb,
}

/// The ledger project every engine test pays from.
pub(crate) const PROJECT: u64 = 7;

pub(crate) fn address(byte: u8) -> String {
    format!("0:{}", hex::encode([byte; 32]))
}

impl TestDb {
    pub(crate) async fn new() -> TestDb {
        let db = ScratchDb::create("labelmint_cons").await;
        let pool = db.pool(4).await;
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
            _db: db,
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
