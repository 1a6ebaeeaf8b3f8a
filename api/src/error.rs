//! The crate's error type for starting and running the server (request errors are
//! [`crate::problem::ApiError`]: they go to the wire, these go to the caller of [`crate::spawn`]).

/// What can stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable (the database URL does not parse, a bad role name).
    #[error("configuration: {0}")]
    Config(String),
    /// Postgres refused or failed (connecting, migrating).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The API's migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Binding or serving the socket failed.
    #[error("listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The crate's result.
pub type Result<T> = std::result::Result<T, Error>;
