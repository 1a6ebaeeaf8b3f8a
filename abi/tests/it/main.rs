//! Integration tests of labelmint-abi: the shared TS <-> Rust vectors (`vectors`) and hostile
//! input (`malformed`). Fixtures and the kind table live in `support`.

mod malformed;
mod support;
mod vectors;
