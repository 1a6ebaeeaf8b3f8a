//! Integration tests of both key backends: real key files, real SoftHSM2 (scripts/softhsm.sh).

mod batch;
mod cli;
mod file;
mod passphrase;
mod pkcs11;
mod support;
