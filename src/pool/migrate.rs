//! [`Pool::migrate`]: applies an sqlx-format migrations directory with sqlx's
//! [`Migrator`](sqlx::migrate::Migrator).

use std::path::Path;

use sqlx::migrate::{MigrateError, Migrator};

use super::Pool;
use crate::error::{Error, Result};

impl Pool {
    /// Applies the migrations in `dir` (sqlx's format: `<version>_<name>.sql`, or
    /// `.up.sql`/`.down.sql` pairs) that the database has not seen yet, in order, each in
    /// its own transaction, on one pooled connection.
    ///
    /// Idempotent: applied migrations are recorded (sqlx's `_sqlx_migrations` table) and
    /// skipped. Safe to call from several processes at once: sqlx holds a PostgreSQL
    /// advisory lock for the run, so one caller applies, the others wait and then find
    /// nothing to do; all succeed. An applied migration whose file changed since is an
    /// error (sqlx compares checksums), as is a missing or unreadable `dir` (the error
    /// names it).
    pub async fn migrate(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref().to_path_buf();
        let migrator = Migrator::new(dir.clone()).await.map_err(|err| {
            Error::from(sqlx::Error::Configuration(
                format!("reading migrations from {}: {err}", dir.display()).into(),
            ))
        })?;
        let mut conn = self.acquire().await?;
        // The borrower path: the session is reset before the connection is reused.
        let raw: &mut sqlx::PgConnection = &mut conn;
        migrator
            .run_direct(None, raw, false)
            .await
            .map_err(|err| match err {
                MigrateError::Execute(source) => Error::from(source),
                other => Error::from(sqlx::Error::from(other)),
            })
    }
}
