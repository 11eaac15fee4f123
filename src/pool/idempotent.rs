//! [`Pool::idempotent`]: work the caller declares safe to run twice, retried on a fresh
//! connection after transient failures.

use sqlx::PgConnection;

use super::Pool;
use super::body::{Raw, SessionBody};
use super::session::Session;
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
        work: impl AsyncFnMut(&mut PgConnection) -> Result<T>,
    ) -> Result<T> {
        self.idempotent_with(Raw(work)).await
    }

    /// The attempt loop of [`idempotent`](Self::idempotent) and
    /// [`idempotent_boxed`](Self::idempotent_boxed): each attempt on a fresh connection,
    /// the body one guarded operation (dropped midway, by an outer timeout, the connection is
    /// discarded rather than handed out with the statement still running).
    pub(super) async fn idempotent_with<T>(&self, mut body: impl SessionBody<T>) -> Result<T> {
        observe::operation("idempotent", &self.shared.target, |_| None, async {
            let mut attempts = self.shared.retry.start("idempotent");
            loop {
                let err = match self.acquire().await {
                    Ok(mut conn) => {
                        let conn = conn.conn();
                        let busy = conn.enter();
                        let result = body.call(&mut Session::new(conn, &busy)).await;
                        conn.leave(busy, result.as_ref().err()).await;
                        match result {
                            Ok(value) => return Ok(value),
                            Err(err) => err,
                        }
                    }
                    Err(err) => err,
                };
                if !attempts.pause(&err, Error::is_retryable).await {
                    return Err(err);
                }
            }
        })
        .await
    }
}
