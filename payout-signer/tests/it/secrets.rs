//! Secrets at startup: the key file and every file holding a secret (token, passphrase,
//! database URL) must be private to its owner (`mode & 0o077 == 0`), else `serve` refuses,
//! naming the file and `chmod 600`; the database URL is never a flag, and `--help` never shows
//! the value of `DATABASE_URL`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clap::Parser;
use labelmint_payout_signer::cli::{Cli, Command};

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn write(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).expect("write");
    chmod(path, mode);
}

fn serve_args(args: &[&str]) -> Box<labelmint_payout_signer::cli::ServeArgs> {
    let mut argv = vec!["payout-signer", "serve"];
    argv.extend_from_slice(args);
    match Cli::try_parse_from(argv).expect("parse").command {
        Command::Serve(s) => s,
        other => panic!("{other:?}"),
    }
}

fn assert_names_the_fix(err: &str, path: &Path) {
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(
        err.contains(&format!("chmod 600 {}", path.display())),
        "{err}"
    );
}

#[test]
fn group_or_world_readable_secret_files_are_refused_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let url = dir.path().join("database-url");
    write(&token, "THROWAWAY-token-file-0123456789\n", 0o644);
    write(&url, "postgres://signer:THROWAWAY@127.0.0.1:1/x\n", 0o600);
    let (t, u) = (token.to_str().unwrap(), url.to_str().unwrap());
    let args = ["--token-file", t, "--database-url-file", u];

    for mode in [0o644, 0o640, 0o604, 0o660] {
        chmod(&token, mode);
        let err = serve_args(&args).config().expect_err("refused").to_string();
        assert_names_the_fix(&err, &token);
    }
    chmod(&token, 0o600);
    let config = serve_args(&args).config().expect("0600 token file");
    assert_eq!(config.token.expose(), "THROWAWAY-token-file-0123456789");
    assert_eq!(
        config.database_url,
        "postgres://signer:THROWAWAY@127.0.0.1:1/x"
    );
    assert_eq!(config.db_role.as_deref(), Some("labelmint_signer"));
    assert!(
        !format!("{config:?}").contains("THROWAWAY@"),
        "Debug redacts the URL"
    );

    chmod(&url, 0o644);
    let err = serve_args(&args).config().expect_err("refused").to_string();
    assert_names_the_fix(&err, &url);
    chmod(&url, 0o600);

    // The key file (checked when it is opened) and the passphrase file.
    let key = dir.path().join("signer.key");
    let pass = dir.path().join("passphrase");
    write(&pass, "THROWAWAY passphrase\n", 0o600);
    labelmint_keys::FileKey::generate(
        &key,
        &labelmint_keys::Passphrase::from_file(&pass).unwrap(),
        labelmint_keys::KdfParams::insecure_for_tests(),
    )
    .unwrap();
    let key_args = [
        "--key-file",
        key.to_str().unwrap(),
        "--passphrase-file",
        pass.to_str().unwrap(),
    ];
    serve_args(&key_args)
        .open_key()
        .expect("0600 key and passphrase");
    chmod(&key, 0o644);
    let err = serve_args(&key_args)
        .open_key()
        .expect_err("key file")
        .to_string();
    assert_names_the_fix(&err, &key);
    chmod(&key, 0o600);
    chmod(&pass, 0o640);
    let err = serve_args(&key_args)
        .open_key()
        .expect_err("passphrase file")
        .to_string();
    assert_names_the_fix(&err, &pass);
}

#[test]
fn the_database_url_is_never_a_flag() {
    let err = serve_args(&["--database-url", "postgres://u:THROWAWAY-pw@h/db"])
        .db
        .database_url()
        .expect_err("refused")
        .to_string();
    assert!(err.contains("--database-url is refused"), "{err}");
    assert!(
        !err.contains("THROWAWAY-pw"),
        "the refusal does not echo it"
    );
    assert!(err.contains("DATABASE_URL") && err.contains("--database-url-file"));
}

#[tokio::test]
async fn the_binary_refuses_a_readable_token_file_and_help_hides_env_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    write(&token, "THROWAWAY-binary-token-0123456789", 0o644);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_payout-signer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--token-file"])
        .arg(&token)
        .env(
            "DATABASE_URL",
            "postgres://u:THROWAWAY-env-pw@127.0.0.1:1/none",
        )
        .env_remove("LABELMINT_SIGNER_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_names_the_fix(&stderr, &token);
    assert!(!stderr.contains("THROWAWAY-env-pw"), "{stderr}");

    let help = tokio::process::Command::new(env!("CARGO_BIN_EXE_payout-signer"))
        .args(["serve", "--help"])
        .env(
            "DATABASE_URL",
            "postgres://u:THROWAWAY-env-pw@127.0.0.1:1/none",
        )
        .env("LABELMINT_SIGNER_TOKEN", "THROWAWAY-env-token-0123456789")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--database-url-file"), "{text}");
    assert!(!text.contains("THROWAWAY-env"), "{text}");
}
