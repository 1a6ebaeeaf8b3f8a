//! Passphrases and PINs from files and env vars.

use labelmint_keys::{KeyError, Passphrase};
use zeroize::Zeroizing;

use crate::support::{is_child, run_child};

#[test]
fn from_file_trims_one_newline_and_refuses_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases: [(&[u8], Option<&[u8]>); 7] = [
        (b"THROWAWAY pw", Some(b"THROWAWAY pw")),
        (b"THROWAWAY pw\n", Some(b"THROWAWAY pw")),
        (b"THROWAWAY pw\r\n", Some(b"THROWAWAY pw")),
        (b"THROWAWAY pw\n\n", Some(b"THROWAWAY pw\n")),
        (b" spaced \n", Some(b" spaced ")),
        (b"", None),
        (b"\n", None),
    ];
    for (i, (content, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("p{i}"));
        std::fs::write(&path, content).expect("write");
        match (Passphrase::from_file(&path), expected) {
            (Ok(p), Some(e)) => assert_eq!(p.expose(), e, "case {i}"),
            (Err(KeyError::Secret { reason, .. }), None) => assert_eq!(reason, "empty"),
            (other, _) => panic!("case {i}: {other:?}"),
        }
    }
    let err = Passphrase::from_file(&dir.path().join("missing")).expect_err("missing");
    assert!(matches!(err, KeyError::Secret { .. }), "{err:?}");
    std::fs::write(dir.path().join("bin"), [0xff, 0xfe]).expect("write");
    let err = Passphrase::from_file(&dir.path().join("bin")).expect_err("not utf-8");
    assert!(err.to_string().contains("UTF-8"), "{err}");
    assert!(Passphrase::new(Zeroizing::new(String::new()), "x").is_err());
}

#[test]
fn from_env_reads_trims_and_refuses_missing() {
    // Env vars are set only in a fresh child process (setting them here would race the other
    // test threads).
    run_child(
        "passphrase::from_env_child",
        &[
            ("LABELMINT_KEYS_TEST_PASS", "THROWAWAY env pass\n"),
            ("LABELMINT_KEYS_TEST_EMPTY", ""),
        ],
    );
}

#[test]
#[ignore = "run by from_env_reads_trims_and_refuses_missing in a child process"]
fn from_env_child() {
    if !is_child("from_env_child") {
        return;
    }
    let p = Passphrase::from_env("LABELMINT_KEYS_TEST_PASS").expect("set");
    assert_eq!(p.expose(), b"THROWAWAY env pass");
    let err = Passphrase::from_env("LABELMINT_KEYS_TEST_EMPTY").expect_err("empty");
    assert!(
        err.to_string().contains("LABELMINT_KEYS_TEST_EMPTY: empty"),
        "{err}"
    );
    let err = Passphrase::from_env("LABELMINT_KEYS_TEST_UNSET").expect_err("unset");
    assert!(err.to_string().contains("not set"), "{err}");
}
