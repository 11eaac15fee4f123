//! [`Pool::idempotent`]: work the caller declares safe to run twice, retried on a fresh
//! connection after transient failures.

use sqlx::PgConnection;

use super::Pool;
use crate::error::{Error, Result};
use crate::observe;

impl Pool {
    /// Runs work **you declare idempotent** (safe to run twice: reads, upserts keyed by the
    /// caller) on a pooled connection, retrying it on a fresh connection after any
    /// [transient](crate::ErrorKind::Transient) failure, within the retry policy. The
    /// connection that failed is discarded when the failure was the connection's.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = pgtide_testkit::TestDb::new().await?;
    /// # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
    /// let n: i64 = pool
    ///     .idempotent(async |conn| {
    ///         pgtide::query::fetch_one(conn, pgtide::sqlx::query_scalar("SELECT count(*) FROM books")).await
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn idempotent<T>(
        &self,
        mut work: impl AsyncFnMut(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        observe::operation("idempotent", &self.shared.target, |_| None, async {
            let mut attempts = self.shared.retry.start("idempotent");
            loop {
                let result = match self.acquire().await {
                    // Dropped midway (an outer timeout), the connection is discarded rather
                    // than handed out with the statement still running.
                    Ok(mut conn) => conn.lend(async |raw| work(raw).await).await,
                    Err(err) => Err(err),
                };
                match result {
                    Ok(value) => return Ok(value),
                    Err(err) => {
                        if !attempts.pause(&err, Error::is_retryable).await {
                            return Err(err);
                        }
                    }
                }
            }
        })
        .await
    }
}
