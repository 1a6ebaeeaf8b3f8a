//! Build script: `sqlx::migrate!` embeds ./migrations at compile time, so rebuild the crate
//! when a migration is added or changed.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
