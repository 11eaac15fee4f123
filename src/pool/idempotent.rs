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
        idempotent_loop!(self, |conn| work(conn.raw_for_borrower()))
    }
}

/// The attempt loop of [`Pool::idempotent`] and [`Pool::idempotent_boxed`]. A macro rather
/// than a function generic over the body, so that `idempotent_boxed`'s future stays visibly
/// `Send` (rust-lang/rust#100013).
macro_rules! idempotent_loop {
    ($pool:expr, |$conn:ident| $call:expr) => {{
        let pool: &Pool = $pool;
        observe::operation("idempotent", &pool.shared.target, |_| None, async {
            let mut attempts = pool.shared.retry.start("idempotent");
            loop {
                let result = match pool.acquire().await {
                    // One guarded operation: dropped midway (an outer timeout), the
                    // connection is discarded rather than handed out with the statement
                    // still running.
                    Ok(mut conn) => {
                        let guarded = conn.conn();
                        let busy = guarded.enter();
                        let result = {
                            let $conn: &mut super::Conn = guarded;
                            $call.await
                        };
                        conn.conn().leave(busy, result.as_ref().err()).await;
                        result
                    }
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
    }};
}
pub(crate) use idempotent_loop;
