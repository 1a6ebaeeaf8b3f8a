//! The `keygen` / `import` / `pubkey` commands, parsed as the signer binary embeds them.

use clap::Parser;
use ed25519_dalek::SigningKey;
use labelmint_keys::{FileKey, KeyCommand, KeyError, Pkcs11Key};

use crate::support::{TestKey, secret};

#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: KeyCommand,
}

fn run(args: &[&str]) -> Result<String, KeyError> {
    let mut argv = vec!["signer"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).expect("parse").command.run()
}

fn public_key_line(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("public_key="))
        .expect("public_key= line")
        .to_owned()
}

const FAST: [&str; 4] = ["--kdf-m-kib", "256", "--kdf-t", "1"];

#[test]
fn file_keygen_import_pubkey() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pass_file = dir.path().join("pass");
    std::fs::write(&pass_file, "THROWAWAY cli pass\n").expect("write");
    let key_file = dir.path().join("gen.key");
    let (kf, pf) = (
        key_file.to_str().expect("utf8"),
        pass_file.to_str().expect("utf8"),
    );

    let mut args = vec!["keygen", "--key-file", kf, "--passphrase-file", pf];
    args.extend(FAST);
    let out = run(&args).expect("keygen");
    assert!(out.contains("backend=file"), "{out}");
    let public = public_key_line(&out);
    let opened = FileKey::open(&key_file, &secret("THROWAWAY cli pass")).expect("open");
    assert_eq!(
        hex::encode(labelmint_keys::KeyBackend::public_key(&opened)),
        public
    );
    assert!(!out.contains("THROWAWAY"), "no secret in the output: {out}");

    let out = run(&["pubkey", "--key-file", kf]).expect("pubkey without passphrase");
    assert_eq!(public_key_line(&out), public);

    // keygen again: refused, file kept.
    let err = run(&args).expect_err("exists");
    assert!(matches!(err, KeyError::AlreadyExists { .. }), "{err:?}");

    // import a hex seed file (with a newline) and a raw one.
    let seed = [0x23u8; 32];
    let expected = hex::encode(SigningKey::from_bytes(&seed).verifying_key().to_bytes());
    let hex_seed = dir.path().join("seed.hex");
    std::fs::write(&hex_seed, format!("{}\n", hex::encode(seed))).expect("write");
    let raw_seed = dir.path().join("seed.bin");
    std::fs::write(&raw_seed, seed).expect("write");
    for (name, seed_file) in [("hex.key", &hex_seed), ("raw.key", &raw_seed)] {
        let target = dir.path().join(name);
        let mut args = vec![
            "import",
            "--key-file",
            target.to_str().expect("utf8"),
            "--passphrase-file",
            pf,
            "--seed-file",
            seed_file.to_str().expect("utf8"),
        ];
        args.extend(FAST);
        let out = run(&args).expect("import");
        assert_eq!(public_key_line(&out), expected, "{name}");
    }
    let bad_seed = dir.path().join("seed.bad");
    std::fs::write(&bad_seed, "not a seed").expect("write");
    let target = dir.path().join("bad.key");
    let err = run(&[
        "import",
        "--key-file",
        target.to_str().expect("utf8"),
        "--passphrase-file",
        pf,
        "--seed-file",
        bad_seed.to_str().expect("utf8"),
    ])
    .expect_err("bad seed");
    assert!(matches!(err, KeyError::InvalidKey(_)), "{err:?}");
    assert!(!target.exists());
}

#[test]
fn pkcs11_keygen_pubkey() {
    let tk = TestKey::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, tk.config.pin.expose()).expect("write");
    let module = tk.config.module.to_str().expect("utf8").to_owned();
    let common = [
        "--key-backend",
        "pkcs11",
        "--pkcs11-module",
        &module,
        "--pkcs11-token",
        &tk.config.token_label,
        "--pkcs11-key-label",
        &tk.config.key_label,
    ];
    let mut keygen = vec!["keygen"];
    keygen.extend(common);
    keygen.extend(["--pkcs11-pin-file", pin_file.to_str().expect("utf8")]);
    let out = run(&keygen).expect("keygen in token");
    assert!(out.contains("backend=pkcs11"), "{out}");
    let public = public_key_line(&out);
    let key = Pkcs11Key::open(&tk.config).expect("open");
    assert_eq!(
        hex::encode(labelmint_keys::KeyBackend::public_key(&key)),
        public
    );

    let mut pubkey = vec!["pubkey"];
    pubkey.extend(common);
    let out = run(&pubkey).expect("pubkey");
    assert_eq!(public_key_line(&out), public);
}
