//! What setting up a test database can fail with.

use std::path::PathBuf;

/// Why a [`TestDatabase`](super::TestDatabase) could not be made. Never contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// No server to test against.
    #[error(
        "no PostgreSQL server for tests: set DATABASE_URL to a server where the role may CREATE DATABASE, e.g. postgres://postgres:PASSWORD@localhost/postgres ({reason})"
    )]
    NoServer {
        /// What was missing or wrong.
        reason: String,
    },

    /// The server named by `DATABASE_URL` (or the throwaway one) did not let us in.
    #[error("cannot reach the test server ({from}; check DATABASE_URL): {source}")]
    Connect {
        /// Where the server came from: `DATABASE_URL` or the throwaway server's state file.
        from: String,
        /// What connecting reported.
        #[source]
        source: Box<crate::Error>,
    },

    /// The migrations directory could not be read, or a migration failed.
    #[error("applying the migrations in {}: {source}", dir.display())]
    Migrations {
        /// The directory.
        dir: PathBuf,
        /// What sqlx reported.
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// Creating the template or the test database failed.
    #[error("{what}: {source}")]
    Setup {
        /// What was being done.
        what: String,
        /// What the server reported.
        #[source]
        source: sqlx::Error,
    },

    /// The config for the test database could not be built.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}
