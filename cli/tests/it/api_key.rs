//! `labelmint api-key create|list|rotate|revoke` against a seeded database with the API's
//! migrations: the key printed once, hashed at rest, rotated and revoked for real (checked
//! with the API's own lookup), and never in the logs.

use labelmint_api::auth::keys;
use labelmint_api::auth::secret::{Bearer, parse_bearer};

use crate::support::{Seeded, addr, labelmint_with};

/// Whether `key` is a live key by the API's own lookup.
async fn live(s: &Seeded, key: &str) -> bool {
    let Some(Bearer::Key { key_id, sha256 }) = parse_bearer(key) else {
        panic!("{key} is not a key");
    };
    keys::lookup(&s.pool, &key_id, &sha256)
        .await
        .expect("lookup")
        .is_some()
}

#[tokio::test]
async fn api_key_create_list_rotate_revoke() {
    let s = Seeded::new().await;
    // Without the API's tables: a clear error.
    let r = s.run(&["api-key", "list"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("labelmint-api"), "{}", r.stderr);
    // The API's migrations grant its write role on the signer's allowlist: those tables first.
    labelmint_payout_signer::store::migrate(&s.pool)
        .await
        .expect("the signer's migrations");
    labelmint_api::db::migrator()
        .run(&s.pool)
        .await
        .expect("the API's migrations");

    let v = s
        .run(&[
            "api-key",
            "create",
            "--scope",
            "read",
            "--label",
            "dashboard",
            "--json",
        ])
        .json();
    let key = v["key"].as_str().expect("key").to_owned();
    let id = v["key_id"].as_str().expect("id").to_owned();
    assert_eq!(v["scope"], "read");
    assert!(live(&s, &key).await);
    // Hashed at rest.
    let rows: Vec<String> = sqlx::query_scalar("SELECT row_to_json(k)::text FROM api_keys k")
        .fetch_all(&s.pool)
        .await
        .expect("rows");
    let secret = key.rsplit('_').next().expect("secret");
    assert!(rows.iter().all(|r| !r.contains(secret)), "{rows:?}");

    // A client key names its wallet; the people's form prints the key once, on stdout only,
    // and nothing secret reaches the logs even at trace level.
    let client = addr(230);
    let r = labelmint_with(
        &[
            "api-key",
            "create",
            "--scope",
            "client",
            "--client",
            client.as_str(),
            "--label",
            "acme",
        ],
        &[("DATABASE_URL", s.url.as_str()), ("RUST_LOG", "trace")],
    );
    let out = r.ok().to_owned();
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("key: "))
        .expect("the key line")
        .to_owned();
    assert!(live(&s, &line).await);
    assert!(!r.stderr.contains(&line[line.len() - 20..]), "{}", r.stderr);
    assert!(r.stderr.contains("only time"), "{}", r.stderr);

    let list = s.run(&["api-key", "list", "--json"]).json();
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|k| k.get("key").is_none()));
    assert!(list.iter().any(|k| k["client"] == client.as_str()));
    let table = s.run(&["api-key", "list"]).ok().to_owned();
    assert!(
        table.contains(&id) && table.contains("dashboard"),
        "{table}"
    );

    // Rotate: the old text is dead, the new one lives.
    let v = s.run(&["api-key", "rotate", &id, "--json"]).json();
    let new_key = v["key"].as_str().expect("key").to_owned();
    assert!(!live(&s, &key).await);
    assert!(live(&s, &new_key).await);
    // Revoke.
    let v = s.run(&["api-key", "revoke", &id, "--json"]).json();
    assert!(v["revoked_at"].is_string());
    assert!(!live(&s, &new_key).await);

    // Usage errors exit 2 naming the argument; an unknown key exits 1.
    for args in [
        vec!["api-key", "create", "--scope", "client", "--label", "x"],
        vec!["api-key", "create", "--scope", "root", "--label", "x"],
        vec![
            "api-key", "create", "--scope", "read", "--label", "x", "--client", "0:00",
        ],
        vec!["api-key", "rotate", "XYZ"],
    ] {
        let r = s.run(&args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
    let r = s.run(&["api-key", "rotate", &id]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("no live API key"), "{}", r.stderr);
}
