//! [`Pool::idempotent_boxed`] and [`Pool::with_timeout_boxed`]: the closure APIs for bodies
//! that return a boxed `Send` future, usable inside `tokio::spawn` when the body borrows
//! what it captures (like [`Pool::transaction_boxed`]; rust-lang/rust#100013).

use std::time::Duration;

use futures_core::future::BoxFuture;

use super::Pool;
use super::body::Boxed;
use super::deadline::run_timed;
use super::session::Session;
use crate::error::Result;

impl Pool {
    /// [`idempotent`](Self::idempotent) for a body that returns a boxed `Send` future.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// # let db = pgtide_testkit::TestDb::new().await?;
    /// # let pool = pgtide::Pool::connect(&pgtide::config::Config::loader().no_file_search().env([("DATABASE_URL", db.url())]).load()?).await?;
    /// let table = String::from("books");
    /// let task = tokio::spawn(async move {
    ///     pool.idempotent_boxed(|conn| {
    ///         let table = table.clone();
    ///         Box::pin(async move {
    ///             let q = pgtide::sqlx::query_scalar::<_, i64>("SELECT count(*) FROM pg_class WHERE relname = $1");
    ///             Ok(q.bind(table).fetch_one(conn).await?)
    ///         })
    ///     })
    ///     .await
    /// });
    /// assert_eq!(task.await.expect("no panic")?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn idempotent_boxed<T, B>(&self, work: B) -> Result<T>
    where
        B: for<'c> FnMut(&'c mut Session<'_>) -> BoxFuture<'c, Result<T>>,
    {
        self.idempotent_with(Boxed(work)).await
    }

    /// [`with_timeout`](Self::with_timeout) for a body that returns a boxed `Send` future.
    pub async fn with_timeout_boxed<T, B>(&self, timeout: Duration, f: B) -> Result<T>
    where
        B: for<'c> FnOnce(&'c mut Session<'_>) -> BoxFuture<'c, Result<T>>,
    {
        let mut conn = self.acquire().await?;
        run_timed(&mut conn, timeout, Boxed(f)).await
    }
}
